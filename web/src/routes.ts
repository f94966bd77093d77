// Routes of the vault (SPEC §2, VGS attribute names): inbound routes forward <inbound host> to an
// upstream URL; outbound routes match upstream hosts by a regular expression.

import { api, listPage } from './api.js';
import { clear, confirmDialog, copyButton, errorBox, h, loading } from './dom.js';
import { routeName } from './format.js';
import { pager, type PageState } from './pager.js';
import { writable } from './roles.js';
import { openRouteForm } from './route-form.js';
import type { ProxyType, Route, Vault } from './types.js';

export function renderRoutes(main: HTMLElement, vault: Vault): void {
  const addInbound = h('button', { type: 'button', class: 'btn btn--primary' }, 'Add inbound route');
  const addOutbound = h('button', { type: 'button', class: 'btn' }, 'Add outbound route');
  const list = h('div', { 'aria-busy': 'true' }, loading('Loading routes…'));
  // Routes come in creation order, the order inbound matching tries them; each page is shown split
  // by direction. A larger page than elsewhere: most vaults then fit on one.
  const pages = pager<Route>({
    noun: 'routes',
    region: list,
    limit: 100,
    load: (cursor, limit) => listPage<Route>(`/vaults/${vault.id}/routes`, { limit: String(limit), cursor }),
    show: (routes, state) =>
      clear(
        list,
        ...(['inbound', 'outbound'] as const).map((type) =>
          section(
            vault,
            type,
            routes.filter((r) => r.type === type),
            state,
            load,
          ),
        ),
      ),
    failed: (message) => clear(list, errorBox(message)),
  });
  const load = (): void => pages.reload();
  clear(
    main,
    h(
      'div',
      { class: 'section-head' },
      h(
        'div',
        {},
        h('h2', {}, 'Routes'),
        h(
          'p',
          { class: 'muted' },
          'Inbound host: ',
          h('code', { class: 'break' }, vault.inbound_host),
          ' ',
          copyButton('Copy', () => vault.inbound_host, 'Copy inbound host'),
        ),
      ),
      h(
        'div',
        { class: 'button-row' },
        writable('route.write', addInbound),
        writable('route.write', addOutbound),
      ),
    ),
    list,
    pages.nav,
  );

  addInbound.addEventListener('click', () => openRouteForm(vault, 'inbound', undefined, load));
  addOutbound.addEventListener('click', () => openRouteForm(vault, 'outbound', undefined, load));
}

function section(
  vault: Vault,
  type: ProxyType,
  routes: Route[],
  page: PageState,
  reload: () => void,
): HTMLElement {
  const title = type === 'inbound' ? 'Inbound routes' : 'Outbound routes';
  if (routes.length === 0 && !(page.first && !page.more)) {
    return h(
      'section',
      { class: 'route-section' },
      h('h3', {}, title),
      h('p', { class: 'muted' }, `No ${type} routes on this page.`),
    );
  }
  if (routes.length === 0) {
    return h(
      'section',
      { class: 'route-section' },
      h('h3', {}, title),
      h(
        'div',
        { class: 'empty empty--small' },
        h(
          'p',
          { class: 'muted' },
          type === 'inbound'
            ? 'No inbound routes yet — add one to forward requests for the inbound host to your API.'
            : 'No outbound routes yet — add one to describe the third-party hosts your apps call.',
        ),
      ),
    );
  }
  const rows = routes.map((r) => {
    const name = routeName(r);
    const edit = h(
      'button',
      { type: 'button', class: 'btn btn--small', 'aria-label': `Edit route ${name}` },
      'Edit',
    );
    edit.addEventListener('click', () => openRouteForm(vault, r.type, r, reload));
    const remove = h(
      'button',
      { type: 'button', class: 'btn btn--small btn--danger-ghost', 'aria-label': `Delete route ${name}` },
      'Delete',
    );
    remove.addEventListener('click', () =>
      confirmDialog({
        title: 'Delete route',
        message: `Requests that match “${name}” will no longer be proxied. A route with certificates tied to it cannot be deleted; remove those certificates first.`,
        confirmLabel: 'Delete Route',
        action: async () => {
          await api('DELETE', `/vaults/${vault.id}/routes/${r.id}`);
          reload();
        },
      }),
    );
    return h(
      'tr',
      {},
      h('td', { 'data-label': 'Name' }, r.tags['name'] ?? '—'),
      h('td', { 'data-label': 'Host endpoint' }, h('code', { class: 'break' }, r.host_endpoint)),
      type === 'inbound'
        ? h(
            'td',
            { 'data-label': 'Upstream' },
            h('code', { class: 'break' }, r.destination_override_endpoint),
          )
        : null,
      h('td', { 'data-label': 'Port' }, String(r.port)),
      h(
        'td',
        { 'data-label': 'Upstream TLS' },
        r.upstream_tls?.verify === false ? 'not verified' : 'verified',
      ),
      h('td', { class: 'cell-actions' }, writable('route.write', edit), writable('route.write', remove)),
    );
  });
  const headers = [
    'Name',
    'Host endpoint',
    ...(type === 'inbound' ? ['Upstream'] : []),
    'Port',
    'Upstream TLS',
  ];
  return h(
    'section',
    { class: 'route-section' },
    h('h3', {}, title),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table' },
        h('caption', { class: 'visually-hidden' }, title),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...headers.map((t) => h('th', { scope: 'col' }, t)),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
          ),
        ),
        h('tbody', {}, ...rows),
      ),
    ),
  );
}
