// Tiny DOM helpers: build elements without innerHTML (so API strings are never parsed as markup),
// dialogs, copy buttons and date formatting shared by every screen.

type Child = Node | string | null | undefined | false;
type PropValue = string | number | boolean | null | undefined | ((event: Event) => void);

/** Builds an element: `on*` props become listeners, `true` a bare attribute, `false`/nullish nothing. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, PropValue> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(key, '');
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  el.append(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
  return el;
}

let uid = 0;
/** A unique id for label/control pairs, so every control has a real label. */
export function newId(prefix: string): string {
  return `${prefix}-${++uid}`;
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren(
    ...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false),
  );
}

export function loading(text: string): HTMLElement {
  return h(
    'p',
    { class: 'loading', role: 'status', 'aria-live': 'polite' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }),
    text,
  );
}

export function errorBox(message: string): HTMLElement {
  return h('p', { class: 'alert alert--error', role: 'alert' }, message);
}

/** Dates as unambiguous UTC, the way the API stores them. */
export function formatDate(iso: string): string {
  return iso.slice(0, 10);
}

export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * Copies text to the clipboard. The Clipboard API can be refused (no permission, no focus, a page
 * not served over HTTPS or from localhost); then the button says so instead of failing silently, the
 * text stays selectable on the page, and `refused` may select it so that Ctrl+C copies it.
 */
export function copyButton(
  label: string,
  text: () => string,
  accessibleName = label,
  refused?: () => void,
): HTMLButtonElement {
  const button = h(
    'button',
    { type: 'button', class: 'btn btn--small', 'aria-label': accessibleName },
    label,
  );
  button.addEventListener('click', () => {
    const done = (msg: string): void => {
      button.textContent = msg;
      setTimeout(() => (button.textContent = label), 1500);
    };
    const failed = (): void => {
      done('Select and copy');
      refused?.();
    };
    // navigator.clipboard is undefined outside a secure context (plain HTTP to another host).
    if (!navigator.clipboard) failed();
    else navigator.clipboard.writeText(text()).then(() => done('Copied'), failed);
  });
  return button;
}

export interface DialogHandle {
  dialog: HTMLDialogElement;
  close(): void;
}

/**
 * A modal `<dialog>`: focus is trapped and Escape closes it natively. It is removed from the page
 * when closed so each opening starts clean, and focus returns to what opened it.
 */
export function openDialog(title: string, body: Node[], options: { wide?: boolean } = {}): DialogHandle {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const titleId = newId('dialog-title');
  const dialog = h(
    'dialog',
    { class: options.wide ? 'dialog dialog--wide' : 'dialog', 'aria-labelledby': titleId },
    h(
      'div',
      { class: 'dialog__head' },
      h('h2', { id: titleId }, title),
      h(
        'button',
        { type: 'button', class: 'icon-btn', 'aria-label': 'Close', onclick: () => dialog.close() },
        '×',
      ),
    ),
    ...body,
  );
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener?.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close: () => dialog.close() };
}

/** A confirmation dialog; the action's error is shown inside it and the dialog stays open. */
export function confirmDialog(opts: {
  title: string;
  message: string;
  confirmLabel: string;
  action: () => Promise<void>;
}): void {
  const error = h('div', { class: 'dialog__error' });
  const confirm = h('button', { type: 'submit', class: 'btn btn--danger' }, opts.confirmLabel);
  const form = h(
    'form',
    { class: 'dialog__body' },
    h('p', {}, opts.message),
    error,
    h(
      'div',
      { class: 'dialog__actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => handle.close() }, 'Cancel'),
      confirm,
    ),
  );
  const handle = openDialog(opts.title, [form]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    confirm.disabled = true;
    clear(error);
    opts.action().then(
      () => handle.close(),
      (err: unknown) => {
        confirm.disabled = false;
        clear(error, errorBox(err instanceof Error ? err.message : String(err)));
      },
    );
  });
}

/** A labelled form field: label, control, optional hint and an error slot tied by aria-describedby. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
): { wrap: HTMLElement; error: HTMLElement } {
  control.id ||= newId('f');
  const error = h('p', { class: 'field__error', id: `${control.id}-error`, hidden: true });
  const hintEl = hint ? h('p', { class: 'field__hint', id: `${control.id}-hint` }, hint) : null;
  control.setAttribute('aria-describedby', [hintEl?.id, error.id].filter(Boolean).join(' '));
  const wrap = h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl, error);
  return { wrap, error };
}

export function showFieldError(control: Element, slot: HTMLElement, message: string | null): void {
  slot.textContent = message ?? '';
  slot.hidden = message === null;
  if (message === null) control.removeAttribute('aria-invalid');
  else control.setAttribute('aria-invalid', 'true');
}
