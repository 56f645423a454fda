"""In-page checks for resident pages: phone layout (360 px) and English completeness.

Each check runs inside Chromium and returns a list of readable problems (empty when the page
passes), so a test can collect them across many pages and report them together.
"""

from __future__ import annotations

from typing import Any

PHONE_WIDTH = 360
MIN_TARGET = 44  # px, both sides (WCAG 2.5.5; 2.5.8's inline exception applies)

# Describes an element as tag#id.class "text…" so a failure names what to fix.
_DESCRIBE = """
const describe = (el) => {
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  if (typeof el.className === 'string' && el.className.trim())
    s += '.' + el.className.trim().split(/\\s+/).join('.');
  const text = (el.getAttribute('aria-label') || el.textContent || el.value || '')
    .replace(/\\s+/g, ' ').trim().slice(0, 40);
  return text ? `${s} "${text}"` : s;
};
const visible = (el) => {
  const style = getComputedStyle(el);
  if (style.visibility === 'hidden' || style.display === 'none') return false;
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0;
};
"""

_OVERFLOW = (
    "() => {"
    + _DESCRIBE
    + """
  const doc = document.documentElement;
  const width = doc.clientWidth;
  if (doc.scrollWidth <= width) return [];
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  const sticks = (el) => {
    if (!visible(el)) return false;
    const r = el.getBoundingClientRect();
    return r.right > width + 1 && !clipped(el);
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!sticks(el)) continue;
    // Name the outermost element that sticks out inside a parent that fits.
    const parent = el.parentElement;
    if (parent && parent !== document.body && sticks(parent)) continue;
    out.push(`${describe(el)} reaches ${Math.round(el.getBoundingClientRect().right)} px`);
  }
  const named = out.slice(0, 5).join('; ') || 'no element sticks out on its own';
  return [`page is ${doc.scrollWidth} px wide at ${width} px: ${named}`];
}"""
)

_TARGETS = (
    "(min) => {"
    + _DESCRIBE
    + """
  const out = [];
  const blockOf = (el) => {
    let p = el.parentElement;
    while (p && getComputedStyle(p).display.startsWith('inline')) p = p.parentElement;
    return p;
  };
  // A link in running text: its block holds other words than the link's own (WCAG 2.5.8).
  const inline = (a) => {
    if (a.closest('nav')) return false;
    const block = blockOf(a);
    if (!block) return false;
    const own = (a.textContent || '').replace(/\\s+/g, '');
    const all = (block.textContent || '').replace(/\\s+/g, '');
    return all.length > own.length;
  };
  const union = (a, b) => ({
    left: Math.min(a.left, b.left), right: Math.max(a.right, b.right),
    top: Math.min(a.top, b.top), bottom: Math.max(a.bottom, b.bottom),
  });
  const selector = 'a[href], button, input, select, textarea, summary';
  for (const el of document.querySelectorAll(selector)) {
    if (el.matches('input[type=hidden]') || !visible(el)) continue;
    if (el.matches('.skip-link')) continue;  // off screen until focused
    // Clipped to nothing (the wizard's default button for Enter): no area anyone could touch.
    const style = getComputedStyle(el);
    if (style.clipPath === 'inset(50%)' || style.clip === 'rect(0px, 0px, 0px, 0px)') continue;
    if (el.matches('a') && inline(el)) continue;
    let r = el.getBoundingClientRect();
    if (el.matches('input[type=checkbox], input[type=radio]')) {
      const label = el.closest('label')
        || (el.id && document.querySelector(`label[for="${el.id}"]`));
      if (label) r = union(r, label.getBoundingClientRect());
    }
    const w = r.right - r.left, h = r.bottom - r.top;
    if (w + 0.5 < min || h + 0.5 < min) {
      out.push(`${describe(el)} is ${Math.round(w)}×${Math.round(h)} px`);
    }
  }
  return out;
}"""
)

_JAPANESE = (
    "() => {"
    + _DESCRIBE
    + """
  const JA = /[\\u3040-\\u30ff\\u3400-\\u9fff\\uf900-\\ufaff\\uff66-\\uff9f\\u3000-\\u303f]/;
  // Text someone typed in Japanese (a municipality's data, a resident's answers) is marked
  // lang="ja" by the templates; everything else on an English page must be English.
  const japaneseMarked = (el) => {
    const owner = el.closest('[lang]');
    return owner !== null && owner.getAttribute('lang').startsWith('ja');
  };
  const out = [];
  // The <title> cannot hold markup: the data it repeats is exempt where the page marks it.
  let title = document.title;
  for (const el of document.querySelectorAll('[lang^="ja"]')) {
    const marked = el.textContent.trim();
    if (marked) title = title.split(marked).join('');
  }
  if (JA.test(title)) out.push(`<title> "${document.title}"`);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    const el = node.parentElement;
    if (!text || !JA.test(text) || !el || japaneseMarked(el)) continue;
    if (el.closest('script, style, template, noscript')) continue;
    if (!el.getClientRects().length && !el.closest('option, title')) continue;
    out.push(`text in ${describe(el)}: "${text.slice(0, 60)}"`);
  }
  const attrs = ['alt', 'title', 'aria-label', 'placeholder', 'aria-description'];
  for (const el of document.body.querySelectorAll('*')) {
    if (japaneseMarked(el)) continue;
    for (const name of attrs) {
      const value = el.getAttribute(name);
      if (value && JA.test(value)) out.push(`${name} of ${describe(el)}: "${value.slice(0, 60)}"`);
    }
    if (el.matches('input[type=submit], input[type=button], input[type=reset]')) {
      if (JA.test(el.value)) out.push(`value of ${describe(el)}: "${el.value.slice(0, 60)}"`);
    }
  }
  return [...new Set(out)];
}"""
)


def overflow_problems(page: Any) -> list[str]:
    """The page scrolls sideways: name the outermost elements that stick out."""
    result: list[str] = page.evaluate(_OVERFLOW)
    return result


def small_target_problems(page: Any, minimum: int = MIN_TARGET) -> list[str]:
    """Buttons, controls and non-inline links smaller than ``minimum`` px on a side."""
    result: list[str] = page.evaluate(_TARGETS, minimum)
    return result


def japanese_problems(page: Any) -> list[str]:
    """Japanese characters outside text marked lang="ja", in text, title and attributes."""
    result: list[str] = page.evaluate(_JAPANESE)
    return result
