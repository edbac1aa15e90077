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
