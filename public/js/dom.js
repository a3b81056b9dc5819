// @ts-check
// Small DOM helpers: find elements, build them.

/**
 * The first element matching `selector`; throws when the page lacks it, so a renamed id fails loudly.
 * @template {Element} [E=HTMLElement]
 * @param {string} selector
 * @param {ParentNode} [root]
 * @returns {E}
 */
export function $(selector, root = document) {
  const found = root.querySelector(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return /** @type {E} */ (/** @type {unknown} */ (found));
}

/**
 * Every element matching `selector`.
 * @param {string} selector
 * @param {ParentNode} [root]
 * @returns {HTMLElement[]}
 */
export function $$(selector, root = document) {
  return /** @type {HTMLElement[]} */ ([...root.querySelectorAll(selector)]);
}

/** @typedef {string | number | Node | null | undefined | false} Child */
/** @typedef {Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>} Attributes */

/**
 * An element with attributes (className, on<event> handlers, the rest as attributes) and children.
 * @param {string} tag
 * @param {Attributes} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name === 'className') node.className = String(value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * A table of a header row and body rows, kept inside a box that scrolls sideways on a narrow screen.
 * @param {HTMLTableElement} table
 * @param {HTMLElement} head
 * @param {HTMLElement[]} rows
 */
export function fillTable(table, head, rows) {
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
}

/** The badge class of each verdict: green, amber, red. */
const VERDICT_CLASS = { fits: 'ok', tight: 'warn', 'does not fit': 'bad' };

/**
 * A verdict badge: fits, tight (fits at the estimate, not at the top of its range), does not fit.
 * Plans saved before verdicts existed fall back to their fits flag.
 * @param {import('../../src/engine').Verdict | undefined} verdict
 * @param {boolean} fits
 * @param {boolean} [small]
 */
export function verdictBadge(verdict, fits, small = true) {
  const word = verdict ?? (fits ? 'fits' : 'does not fit');
  const title =
    word === 'tight' ? 'fits at the estimate, not at the top of its 80% range' : undefined;
  return el(
    'span',
    {
      className: `badge${small ? ' small' : ''} ${VERDICT_CLASS[word]}`,
      title,
      'data-verdict': word,
    },
    word,
  );
}
