import type http from 'node:http';

/**
 * Makes `server.closeIdleConnections()` — which Node's `server.close()` also calls — safe for
 * responses still being written.
 *
 * Node's sweep destroys every connection whose parser is between messages, skipping only those whose
 * response has not been `end()`ed yet (`res.finished`). A response that has been `end()`ed but whose
 * last bytes are still queued in the socket (`writableEnded && !writableFinished`, from end() until
 * 'finish') counts as idle, so a sweep at that instant truncates an answer the upstream completed.
 * That is what lost accepted requests across SIGTERM in the reliability suite's shutdown scenario
 * (the inbound client saw "response aborted", the tunnelled one UND_ERR_SOCKET), every time a
 * response had just ended when drain() ran; on a loaded machine several at once.
 *
 * With this, the sweep waits until no response of the server is in that state, then runs Node's
 * sweep at once (check and sweep in one synchronous step, so no response can end in between).
 * A client that never reads its last bytes delays only the sweep, never more than the caller's
 * grace, after which closeAllConnections() cuts everything as before.
 *
 * Install it after the server's 'request' and 'checkContinue' handlers are attached.
 */
export function spareFlushingResponses(server: http.Server): void {
  const open = new Set<http.ServerResponse>();
  const track = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    open.add(res);
    res.once('close', () => open.delete(res));
  };
  server.prependListener('request', track);
  // Only where a handler exists: a checkContinue listener stops Node from answering 100 Continue itself.
  if (server.listenerCount('checkContinue') > 0) server.prependListener('checkContinue', track);

  const sweep = server.closeIdleConnections.bind(server);
  let waiting = false;
  server.closeIdleConnections = function closeIdleConnectionsSparingFlushing(): void {
    if (waiting) return; // a sweep is already due once the flushing responses are out
    const flushing = [...open].filter((res) => res.writableEnded && !res.writableFinished);
    if (flushing.length === 0) {
      sweep();
      return;
    }
    waiting = true;
    let left = flushing.length;
    // 'close' follows 'finish' (all bytes handed to the kernel) or the socket's end: either way the
    // response is no longer in the window, and the sweep is tried again with what is open then.
    for (const res of flushing)
      res.once('close', () => {
        if (--left > 0) return;
        waiting = false;
        server.closeIdleConnections();
      });
  };
}
