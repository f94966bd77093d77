import type http from 'node:http';
import type { Duplex } from 'node:stream';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { chooseCertificate } from '../../certificates/choose.js';
import { ERROR_STATUS } from '../../errors.js';
import type { DataPlaneDeps } from '../deps.js';
import { forward } from '../http/forward.js';
import { clientTimeoutOptions } from '../http/client-timeouts.js';
import { guardRequests, guardSocketListener, sendError, upstreamTlsSetup } from '../http/errors.js';
import { assignRequestId } from '../../observability/request-id.js';
import { refuseRequest, requestRuleViolation } from '../http/request-rules.js';
import { selectName } from './authority.js';
import { CallerVerifier } from './caller-identity.js';
import { NameContexts } from './name-contexts.js';
import type { UpstreamPools } from '../upstream/pools.js';

/** `Host: name:port` or `[v6]:port` → lower-case name without port or trailing dot. */
export function hostOf(header: string | undefined): string {
  if (!header) return '';
  const name = header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':')[0];
  return (name ?? '').toLowerCase().replace(/\.$/, '');
}

/** An absolute-form request target (RFC 9112 §3.2.2): `https://host:port` before its path. */
const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/**
 * The request target for the upstream: the path of destination_override_endpoint (without a trailing
 * slash) followed by the caller's path and query exactly as received (SPEC §3 "path and query kept").
 * Deliberately string concatenation, not URL parsing: a URL would re-encode characters a signed
 * callback URL relies on. Targets with dot segments never get here (request-rules.ts): an upstream
 * that resolves `/prefix/../x` would let the caller escape the endpoint's path prefix.
 */
export function upstreamTarget(base: URL, requestTarget: string): string {
  const raw = requestTarget.replace(ABSOLUTE_FORM, '');
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  return prefix + (raw.startsWith('/') ? raw : `/${raw}`);
}

/**
 * The inbound reverse proxy (SPEC §3): HTTPS on the inbound port with the local CA's listener
 * certificate for the vaults' own hosts and each custom hostname's certificate, chosen by SNI
 * (SPEC §2); Host selects vault and route; caller mTLS is enforced per name; the request is forwarded
 * to the route's upstream, presenting the client certificate the choice rule picks among those tied
 * to the route.
 */
export function createInboundServer(deps: DataPlaneDeps, pools: UpstreamPools): https.Server {
  const { settings, logger } = deps;
  const log = logger.child({ component: 'inbound' });
  const recorded = deps.metrics.proxy;

  const contexts = new NameContexts(deps.listenerTls, log);
  const callers = new CallerVerifier();

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> | undefined => {
    if (req.socket.writableEnded) {
      // Shutdown already ended this connection: an answer cannot be sent, so the request must not
      // reach the upstream either (see the outbound tunnel handler).
      req.socket.destroy();
      return undefined;
    }
    const started = performance.now();
    const requestId = assignRequestId(req, res);
    /** Counts and times this request once answered; `vaultId` "" before a vault is selected. */
    const done = (vaultId: string, code: string): void =>
      recorded.request('inbound', vaultId, res.statusCode, code, started);
    // Rules on the request alone come first: they hold whatever the configuration says.
    const violation = requestRuleViolation(req);
    if (violation !== null) {
      refuseRequest(res, violation);
      done('', violation.code);
      log.info('inbound request refused', {
        request_id: requestId,
        method: req.method,
        status: res.statusCode,
        error: violation.code,
      });
      return undefined;
    }
    const host = hostOf(req.headers.host);
    const socket = req.socket as TLSSocket;
    const sni = socket.servername;
    const selection = selectName(
      deps.snapshot.current,
      host,
      typeof sni === 'string' ? sni : null,
      settings.domain,
      socket.isSessionReused(),
    );
    if (!selection.ok) {
      sendError(res, selection.code, selection.message);
      done('', selection.code);
      return undefined;
    }
    const { vault, tls } = selection.name;
    let clientCert: string | null = null;
    if (tls.clientAuth !== 'off') {
      const caller = callers.check(socket, tls, Date.now());
      if (!caller.ok) {
        sendError(
          res,
          'client_certificate_required',
          `https://${host}/ requires a client certificate issued by a CA it trusts, and ${caller.reason}.`,
        );
        done(vault.id, 'client_certificate_required');
        log.info('inbound request refused', {
          request_id: requestId,
          vault_id: vault.id,
          hostname_id: tls.hostnameId,
          method: req.method,
          status: res.statusCode,
          error: 'client_certificate_required',
          reason: caller.reason,
        });
        return undefined;
      }
      clientCert = caller.xfcc;
    }
    // SPEC §3: the first inbound route (creation order) whose host_endpoint matches the host. The
    // snapshot has already worked that out for each name; no regex runs here.
    const route = selection.name.route;
    if (!route || !route.upstream) {
      sendError(
        res,
        'route_not_found',
        `The vault ${vault.id} has no inbound route whose host_endpoint matches "${host}".`,
      );
      done(vault.id, 'route_not_found');
      return undefined;
    }
    const client = req.socket.remoteAddress;
    if (!route.sources.allows(client)) {
      sendError(
        res,
        'source_not_allowed',
        `This route accepts requests only from the addresses in its source_endpoint, and your address (${client ?? 'unknown'}) is not one of them.`,
      );
      done(vault.id, 'source_not_allowed');
      log.info('inbound request refused', {
        request_id: requestId,
        vault_id: vault.id,
        route_id: route.id,
        method: req.method,
        status: res.statusCode,
        error: 'source_not_allowed',
        client,
      });
      return undefined;
    }
    const url = route.upstream;
    // Choosing the certificate and building its TLS context is the upstream TLS side: a failure
    // there is this request's 502 upstream_tls_error (via the guard), not the process's.
    const agent = upstreamTlsSetup(() => {
      const certificate = chooseCertificate(route.certificates, url.hostname, Date.now()) ?? null;
      if (certificate === null && route.certificates.length > 0) recorded.choiceFailed('inbound', vault.id);
      return pools.agentFor({ origin: url, certificate, tls: route.upstreamTls });
    });
    return forward(
      req,
      res,
      {
        url,
        path: upstreamTarget(url, req.url ?? '/'),
        agent,
        hostHeader: url.host,
        forwarded: {
          for: req.socket.remoteAddress ?? '',
          proto: 'https',
          host: req.headers.host ?? host,
          clientCert,
        },
        requestId,
      },
      {
        connectTimeoutMs: settings.upstreamConnectTimeoutMs,
        headersTimeoutMs: settings.upstreamResponseTimeoutMs,
        bodyTimeoutMs: settings.requestBodyTimeoutMs,
        // Callers are third parties: the detail of an upstream failure goes to the log line only.
        audience: 'caller',
      },
    ).then((result) => {
      done(vault.id, result.errorCode ?? '');
      log.info('inbound request', {
        request_id: requestId,
        vault_id: vault.id,
        hostname_id: tls.hostnameId ?? undefined,
        route_id: route.id,
        method: req.method,
        status: res.statusCode,
        upstream_status: result.status,
        error: result.errorCode,
        error_detail: result.errorMessage ?? undefined,
        certificate_id: result.certificateId,
        duration_ms: Math.round(performance.now() - started),
      });
    });
  };

  // Whatever one request throws ends that request (502 upstream_tls_error or 500), not the process.
  const guarded = guardRequests(
    log,
    handle,
    (code) => recorded.request('inbound', '', ERROR_STATUS[code], code, undefined),
    'caller',
  );

  const server = https.createServer(
    {
      cert: deps.listenerTls.certPem,
      key: deps.listenerTls.keyPem,
      // Each name's certificate and caller trust (name-contexts.ts). A lookup is two hash probes.
      SNICallback: (servername, done) => {
        const name = deps.snapshot.current.inboundNames.get(servername.toLowerCase().replace(/\.$/, ''));
        done(null, name === undefined ? undefined : contexts.for(name.tls));
      },
      // Node asks for a caller certificate per listener, not per SNI context: every caller is asked,
      // none is refused in the handshake, and each name's mode is enforced per request (above).
      requestCert: true,
      rejectUnauthorized: false,
      ...(deps.listenerTls.ticketKeys === undefined ? {} : { ticketKeys: deps.listenerTls.ticketKeys }),
      // Slow-header clients are cut (client-timeouts.ts); bodies may stream for as long as they flow.
      ...clientTimeoutOptions(0),
      keepAliveTimeout: 5_000,
    },
    guarded,
  );
  // Forward Expect: 100-continue instead of answering it ourselves (see forward.ts).
  server.on('checkContinue', guarded);
  server.on(
    'tlsClientError',
    guardSocketListener(
      log,
      'handling a failed inbound TLS handshake',
      (_err: NodeJS.ErrnoException, socket: Duplex) => socket,
      (err: NodeJS.ErrnoException) => {
        log.debug('inbound client TLS handshake failed', { code: err.code, reason: err.message });
      },
    ),
  );
  return server;
}
