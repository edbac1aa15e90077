// orderdesk: progressive enhancement only. The server already does every
// submit exactly once; this just shows progress and stops double clicks.
'use strict';

const submitButtons = (form) =>
  Array.from(form.elements).filter((el) => el.type === 'submit');

const setLabel = (button, text) => {
  if (button.tagName === 'INPUT') button.value = text;
  else button.textContent = text;
};

document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-busy')) return;
  if (form.dataset.submitted) { event.preventDefault(); return; }
  if (event.defaultPrevented) return;
  form.dataset.submitted = 'true';
  const submitter = event.submitter || submitButtons(form)[0];
  // Wait until the submission has started, so the button's name/value still goes with it.
  setTimeout(() => {
    if (!form.dataset.submitted) return;
    form.classList.add('is-busy');
    form.setAttribute('aria-busy', 'true');
    for (const button of submitButtons(form)) {
      if (button.disabled) continue;
      button.disabled = true;
      button.classList.add('is-busy');
      if (button === submitter) {
        button.dataset.label = button.tagName === 'INPUT' ? button.value : button.textContent;
        setLabel(button, form.dataset.busy);
      }
    }
  }, 0);
});

// Back/forward cache: the page comes back exactly as it was left, busy. Undo that.
window.addEventListener('pageshow', (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll('form[data-busy]')) {
    delete form.dataset.submitted;
    form.classList.remove('is-busy');
    form.removeAttribute('aria-busy');
    for (const button of submitButtons(form)) {
      if (!button.classList.contains('is-busy')) continue;
      button.disabled = false;
      button.classList.remove('is-busy');
      if (button.dataset.label !== undefined) setLabel(button, button.dataset.label);
      delete button.dataset.label;
    }
  }
});

document.addEventListener('click', (event) => {
  if (event.target instanceof Element && event.target.closest('[data-print]')) window.print();
});

// A form typed before the session expired (the server lists it in #kept-form): fill it in
// again. The person sends it themselves, with the page's fresh token.
(() => {
  const kept = document.getElementById('kept-form');
  if (!kept) return;
  const action = kept.dataset.action;
  const form = Array.from(document.forms).find((f) => new URL(f.action, location.href).pathname === action);
  if (!form) return;
  let first = null;
  for (const input of kept.querySelectorAll('input[data-name]')) {
    const field = form.elements.namedItem(input.dataset.name);
    if (!field || field.type === 'hidden' || field.type === 'password') continue;
    if (field instanceof RadioNodeList) {
      for (const option of field) if (option.value === input.value) option.checked = true;
    } else if (field.type === 'checkbox' || field.type === 'radio') {
      field.checked = field.value === input.value;
    } else {
      field.value = input.value;
    }
    first = first || field;
  }
  if (first && typeof first.focus === 'function') first.focus();
})();

// Product picker (ARIA 1.2 combobox with a listbox popup) on inputs marked data-picker="URL":
// typing asks the server for matching active products; ArrowDown/ArrowUp move, Enter chooses
// (the first match is highlighted), Escape closes. Choosing puts the SKU in the field and moves
// to the quantity. Without this script the form takes a partial SKU or name on the server.
const initPicker = (input) => {
  const listId = `${input.id}-listbox`;
  const list = document.createElement('ul');
  list.id = listId;
  list.className = 'picker-list';
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', 'Matching products');
  list.hidden = true;
  const status = document.createElement('p');
  status.className = 'visually-hidden';
  status.setAttribute('aria-live', 'polite');
  input.after(list, status);
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.setAttribute('aria-controls', listId);

  let items = [];
  let active = -1;
  let asked = 0;
  let timer = 0;

  const options = () => Array.from(list.querySelectorAll('[role="option"]'));
  const highlight = (i) => {
    active = i;
    options().forEach((li, j) => li.setAttribute('aria-selected', j === i ? 'true' : 'false'));
    const current = options()[i];
    if (current) {
      input.setAttribute('aria-activedescendant', current.id);
      current.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  };
  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    highlight(-1);
  };
  const choose = (i) => {
    const item = items[i];
    if (!item) return;
    input.value = item.sku;
    close();
    const next = document.getElementById(input.dataset.pickerNext || 'quantity');
    if (next) { next.focus(); if (next.select) next.select(); }
  };
  const show = (found, typed) => {
    // An exact SKU goes first, whatever sorts before it.
    const exact = found.findIndex((p) => p.sku === typed.toUpperCase());
    if (exact > 0) found.unshift(found.splice(exact, 1)[0]);
    items = found;
    list.replaceChildren();
    found.forEach((p, i) => {
      const li = document.createElement('li');
      li.id = `${listId}-${i}`;
      li.setAttribute('role', 'option');
      const sku = document.createElement('strong');
      sku.textContent = p.sku;
      const meta = document.createElement('span');
      meta.className = 'muted';
      meta.textContent = `${p.price} · ${p.stock} in stock`;
      li.append(sku, ` ${p.name} `, meta);
      li.addEventListener('mousedown', (e) => { e.preventDefault(); choose(i); });
      list.append(li);
    });
    if (found.length === 0) {
      const li = document.createElement('li');
      li.className = 'picker-empty';
      li.textContent = 'No active product matches.';
      list.append(li);
    }
    status.textContent = found.length === 0 ? 'No product matches.'
      : `${found.length} product${found.length === 1 ? '' : 's'} found; arrow keys to move, Enter to choose.`;
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    highlight(found.length > 0 ? 0 : -1);
  };
  const ask = async () => {
    const typed = input.value.trim();
    // The server searches from three characters on (a shorter text is an exact SKU only).
    if (typed.length < 3) { items = []; close(); return; }
    const mine = ++asked;
    try {
      const res = await fetch(`${input.dataset.picker}?q=${encodeURIComponent(typed)}`, {
        headers: { Accept: 'application/json' }, credentials: 'same-origin',
      });
      if (!res.ok || mine !== asked) return;
      const found = await res.json();
      if (mine === asked && document.activeElement === input) show(found, typed);
    } catch (_) {
      // The server still resolves what was typed when the form is submitted.
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(ask, 120);
  });
  input.addEventListener('keydown', (e) => {
    const open = !list.hidden && items.length > 0;
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (!open) { ask(); return; }
      highlight((active + 1) % items.length);
    } else if (e.key === 'ArrowUp') {
      if (!open) return;
      e.preventDefault();
      highlight((active - 1 + items.length) % items.length);
    } else if (e.key === 'Enter' && open && active >= 0) {
      e.preventDefault();
      choose(active);
    } else if (e.key === 'Escape' && !list.hidden) {
      e.preventDefault();
      close();
    } else if (e.key === 'Tab') {
      close();
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 150));
};

document.querySelectorAll('input[data-picker]').forEach(initPicker);

// The new-order customer list follows the search field as the clerk types (data-filter="URL"
// names the search, data-filter-list the select it fills). One match is selected. The form's
// hidden "shown" field then says the list is up to date, so submitting creates the order.
document.querySelectorAll('input[data-filter]').forEach((input) => {
  const select = document.getElementById(input.dataset.filterList);
  const shown = input.form && input.form.elements.namedItem('shown');
  if (!select || !shown) return;
  let asked = 0;
  let timer = 0;
  const refresh = async () => {
    const typed = input.value.trim();
    const mine = ++asked;
    try {
      const res = await fetch(`${input.dataset.filter}?q=${encodeURIComponent(typed)}`, {
        headers: { Accept: 'application/json' }, credentials: 'same-origin',
      });
      if (!res.ok || mine !== asked) return;
      const found = await res.json();
      if (mine !== asked) return;
      const chosen = select.value;
      select.replaceChildren();
      for (const c of found) {
        const option = new Option(c.label, String(c.id));
        option.selected = String(c.id) === chosen || found.length === 1;
        select.append(option);
      }
      if (found.length === 0) {
        const none = new Option(`No customer matches “${typed}”.`, '');
        none.disabled = true;
        select.append(none);
      }
      shown.value = input.value;
    } catch (_) {
      // Submitting the form still searches on the server.
    }
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  });
  // Enter in the search field searches (it never creates the order); the list takes the focus.
  input.addEventListener('keydown', async (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    clearTimeout(timer);
    await refresh();
    select.focus();
  });
});
