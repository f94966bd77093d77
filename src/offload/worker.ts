/**
 * The offload thread (pool.ts): runs one job at a time and answers with its value or its error.
 * A VaultgateError crosses as code, message and field; anything else only as a message — it is an
 * internal failure, logged by the caller, and never carries key material (jobs build no such text).
 */
import { parentPort } from 'node:worker_threads';
import { isVaultgateError } from '../errors.js';
import { runJob } from './jobs.js';
import type { JobRequest, WorkerReply } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('worker.ts runs only as a worker thread (src/offload/pool.ts)');

port.on('message', (request: JobRequest) => {
  let reply: WorkerReply;
  try {
    reply = { id: request.id, value: runJob(request.name, request.input) };
  } catch (err) {
    reply = isVaultgateError(err)
      ? {
          id: request.id,
          error: {
            code: err.code,
            message: err.message,
            ...(err.field === undefined ? {} : { field: err.field }),
          },
        }
      : { id: request.id, error: { message: `${(err as Error).name ?? 'Error'} in ${request.name}` } };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true } satisfies WorkerReply);
