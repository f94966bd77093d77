// One page of a list at a time (SPEC §2 "Lists"): Previous and Next over the API's cursors, with a
// line saying which items are shown and whether more follow. The API's cursors only go forward, so
// the cursor of every page already seen is kept: Previous is the one before, never an offset.

import type { ListPage } from './api.js';
import { h } from './dom.js';

/** Rows per page: a screen or two of table, and a page the browser lays out in a few milliseconds. */
export const PAGE_SIZE = 50;

export interface PageState {
  /** The first page is shown (nothing before it). */
  first: boolean;
  /** Another page follows. */
  more: boolean;
}

export interface Pager {
  /** The "Showing …" line with Previous and Next, to be placed under the list. */
  readonly nav: HTMLElement;
  /** Back to the first page: the filters changed. */
  restart(): void;
  /** The current page again: something on it changed (a removal, a status toggle). */
  reload(): void;
}

export function pager<T>(options: {
  /** Plural noun for the "Showing" line: "certificates". */
  noun: string;
  /** The element marked busy while a page loads. */
  region: HTMLElement;
  load(cursor: string | null, limit: number): Promise<ListPage<T>>;
  show(items: T[], state: PageState): void;
  failed(message: string): void;
  limit?: number;
}): Pager {
  const limit = options.limit ?? PAGE_SIZE;
  // cursors[i] opens page i (null: the first page); the last entry is the page shown.
  const cursors: (string | null)[] = [null];
  let next: string | null = null;
  let ticket = 0;

  const previous = h('button', { type: 'button', class: 'btn btn--small' }, 'Previous');
  const following = h('button', { type: 'button', class: 'btn btn--small' }, 'Next');
  const line = h('p', { class: 'pager__status', role: 'status' });
  const buttons = h('div', { class: 'button-row' }, previous, following);
  const nav = h('nav', { class: 'pager', 'aria-label': `Pages of ${options.noun}` }, line, buttons);

  const go = (): void => {
    // Only the newest request may draw: a slow answer to an older filter must not replace it.
    const mine = ++ticket;
    previous.disabled = true;
    following.disabled = true;
    options.region.setAttribute('aria-busy', 'true');
    options.load(cursors[cursors.length - 1] ?? null, limit).then(
      (page) => {
        if (mine !== ticket) return;
        if (page.data.length === 0 && cursors.length > 1) {
          // Every item of this page was removed meanwhile: show the one before instead.
          cursors.pop();
          go();
          return;
        }
        options.region.removeAttribute('aria-busy');
        next = page.next_cursor;
        const index = cursors.length - 1;
        const state = { first: index === 0, more: next !== null };
        options.show(page.data, state);
        previous.disabled = state.first;
        following.disabled = !state.more;
        buttons.hidden = state.first && !state.more;
        line.textContent = showing(options.noun, index * limit, page.data.length, state);
      },
      (err: Error) => {
        if (mine !== ticket) return;
        options.region.removeAttribute('aria-busy');
        previous.disabled = cursors.length === 1;
        following.disabled = true;
        line.textContent = '';
        options.failed(err.message);
      },
    );
  };

  previous.addEventListener('click', () => {
    if (cursors.length > 1) cursors.pop();
    go();
  });
  following.addEventListener('click', () => {
    if (next === null) return;
    cursors.push(next);
    go();
  });
  go();
  return {
    nav,
    restart() {
      cursors.length = 1;
      go();
    },
    reload: go,
  };
}

/** "3 certificates", "Certificates 51–100, more follow", "Certificates 101–123 of 123". */
function showing(noun: string, before: number, count: number, state: PageState): string {
  if (state.first && !state.more) return count === 1 ? `1 ${noun.replace(/s$/, '')}` : `${count} ${noun}`;
  const Noun = noun[0]?.toUpperCase() + noun.slice(1);
  const range = `${Noun} ${before + 1}–${before + count}`;
  return state.more ? `${range}, more follow` : `${range} of ${before + count}`;
}
