// The two DOM helpers every part of the page uses.

export const $ = (id) => document.getElementById(id);

/** A new element; text children become text nodes, never parsed as HTML. */
export function element(tag, attributes, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}
