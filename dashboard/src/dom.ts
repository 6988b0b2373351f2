/**
 * The page's few DOM helpers. Everything is written with textContent (through `el` and `setText`),
 * never innerHTML, so job data cannot inject markup.
 */

/** An element of the page, which the HTML in public/dashboard/index.html always has. */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

export function setText(id: string, value: string): void {
  const e = document.getElementById(id);
  if (e) e.textContent = value;
}

type Attrs = {
  text?: string;
  class?: string;
  title?: string;
  type?: string;
  colSpan?: number;
  [data: `data-${string}`]: string;
};

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  children: (Node | string)[] = [],
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = String(v);
    else if (k === 'class') e.className = String(v);
    else if (k.startsWith('data-')) e.setAttribute(k, String(v));
    // title, type, colSpan: properties of the element.
    else Object.assign(e, { [k]: v });
  }
  e.append(...children);
  return e;
}
