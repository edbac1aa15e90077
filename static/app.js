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
