/*
 * The app's own script, loaded on every page. Every page works without it; it only keeps typing from being lost
 * and warns before the session's idle end.
 *
 * 0. A form that keeps no draft (form[data-carries-typing]: registering, writing a message). What is typed is
 *    kept in this tab's sessionStorage until the form is sent, and put back when the page comes again empty:
 *    after a language switch, or coming back from a link. Passwords and files are never kept.
 * 1. A draft form (form[data-keeps-draft]: an application's section, the report on a grant). When a link is
 *    followed while the form holds typing not yet saved, the form is submitted instead, with the link's address
 *    in "go": the server keeps the draft as its own Save does, then goes there (grants/drafts.py). The language
 *    buttons need no script: on such a page they are submit buttons of the form.
 * 2. The idle warning (dialog#session-warning, WCAG 2.2.1). Some time before the session's idle end an alert
 *    dialog offers "Continue logged in" (a POST that starts the idle time again) or "Log out". If nobody answers,
 *    the draft is saved where there is one, and the user is logged out just before the server would end the
 *    session anyway. Pages in other tabs share the time of the last request through localStorage, so a tab left
 *    alone does not log out someone working in another.
 * 3. A print button (button[data-print], hidden in the page until this script shows it): the recovery codes.
 */
(function () {
  'use strict';

  // --- typing carried along on forms that keep no draft --------------------------------------------------------

  function keepable(element) {
    return element.name && !element.disabled && element.name !== 'csrf_token' &&
      ['password', 'file', 'hidden', 'submit', 'button', 'reset'].indexOf(element.type) === -1;
  }

  function typedIn(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!keepable(element)) {
        return;
      }
      values[element.name] = values[element.name] || [];
      if (element.type === 'checkbox' || element.type === 'radio') {
        if (element.checked) {
          values[element.name].push(element.value);
        }
      } else {
        values[element.name].push(element.value);
      }
    });
    return values;
  }

  function putBack(form, values) {
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!keepable(element) || !(element.name in values)) {
        return;
      }
      if (element.type === 'checkbox' || element.type === 'radio') {
        element.checked = values[element.name].indexOf(element.value) !== -1;
      } else if (values[element.name].length) {
        element.value = values[element.name].shift();
      }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll('form[data-carries-typing]'), function (form, index) {
    var key = 'grants.typing:' + location.pathname + ':' + (form.id || index);
    var store;
    try {
      store = window.sessionStorage;
    } catch (e) {
      return; // storage refused: the form works as it is
    }
    var saved = null;
    try {
      saved = JSON.parse(store.getItem(key) || 'null');
    } catch (e) { /* unreadable: nothing to put back */ }
    // Only into a form that comes empty: one the server filled (its errors after a send) shows what it holds.
    var empty = Array.prototype.every.call(form.elements, function (element) {
      return !keepable(element) || element.type === 'checkbox' || element.type === 'radio' ||
        element.tagName === 'SELECT' || !element.value;
    });
    if (saved && empty) {
      putBack(form, saved);
    }
    function keep() {
      try {
        store.setItem(key, JSON.stringify(typedIn(form)));
      } catch (e) { /* full or refused: nothing kept */ }
    }
    form.addEventListener('input', keep);
    form.addEventListener('change', keep);
    form.addEventListener('submit', function () {
      store.removeItem(key);
    });
  });

  var SEEN_KEY = 'grants.session.seen';

  var draft = document.querySelector('form[data-keeps-draft]');

  function snapshot(form) {
    var parts = [];
    new FormData(form).forEach(function (value, name) {
      parts.push(name + '=' + (typeof value === 'string' ? value : value.name + ':' + value.size));
    });
    return parts.join('&');
  }

  var pristine = draft ? snapshot(draft) : null;

  function dirty() {
    return !!draft && snapshot(draft) !== pristine;
  }

  function hidden(form, name, value) {
    var input = form.querySelector('input[type=hidden][name="' + name + '"]');
    if (!input) {
      input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  function here() {
    return location.pathname + location.search;
  }

  // Save the draft without leaving the page. Resolves to true when the server kept it: it answers a "go" back to
  // this page with a redirect here. Any other end (the log-in page because the session was gone, the form again
  // with a conflict or a value too long, no network) resolves to false, so nothing claims a save that did not
  // happen.
  function saveDraft() {
    if (!dirty()) {
      return Promise.resolve(false);
    }
    var body = new FormData(draft);
    body.set('go', here());
    return fetch(draft.action, {method: 'POST', body: body, credentials: 'same-origin', redirect: 'follow'})
      .then(function (response) {
        var landed = new URL(response.url, location.href);
        if (response.ok && response.redirected && landed.pathname + landed.search === here()) {
          pristine = snapshot(draft);
          return true;
        }
        return false;
      }, function () { return false; });
  }

  if (draft) {
    document.addEventListener('click', function (event) {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey ||
          event.altKey) {
        return;
      }
      var link = event.target.closest ? event.target.closest('a[href]') : null;
      if (!link || (link.target && link.target !== '_self') || link.hasAttribute('download')) {
        return;
      }
      var url = new URL(link.href, location.href);
      if (url.origin !== location.origin) {
        return; // mailto:, another site
      }
      if (url.pathname === location.pathname && url.search === location.search && url.hash) {
        return; // within the page: the skip link, the error summary's links
      }
      if (!dirty()) {
        return;
      }
      event.preventDefault();
      hidden(draft, 'go', url.pathname + url.search + url.hash);
      if (draft.requestSubmit) {
        draft.requestSubmit();
      } else {
        draft.submit();
      }
    });
  }

  // --- print buttons ----------------------------------------------------------------------------------------------

  Array.prototype.forEach.call(document.querySelectorAll('button[data-print]'), function (button) {
    button.hidden = false;
    button.addEventListener('click', function () { window.print(); });
  });

  // --- the idle warning ----------------------------------------------------------------------------------------

  var dialog = document.getElementById('session-warning');
  if (!dialog || typeof dialog.showModal !== 'function') {
    return;
  }
  var idle = Number(dialog.getAttribute('data-idle-seconds')) * 1000;
  var warning = Number(dialog.getAttribute('data-warning-seconds')) * 1000;
  // Save and log out this long before the server's end, while the session still holds.
  var margin = Math.min(10 * 1000, warning / 3);
  var keepForm = document.getElementById('session-keep');
  var endForm = document.getElementById('session-end');
  var loaded = Date.now();
  var ending = false;

  function lastSeen() {
    var stored = 0;
    try {
      stored = Number(window.localStorage.getItem(SEEN_KEY)) || 0;
    } catch (e) { /* storage refused: this page's own time stands */ }
    return Math.max(loaded, stored);
  }

  function seen(time) {
    loaded = Math.max(loaded, time);
    try {
      window.localStorage.setItem(SEEN_KEY, String(time));
    } catch (e) { /* as above */ }
  }

  seen(loaded);

  function timeOfDay(time) {
    var lang = document.documentElement.lang || 'nb';
    try {
      return new Date(time).toLocaleTimeString(lang, {hour: '2-digit', minute: '2-digit'});
    } catch (e) {
      return new Date(time).toTimeString().slice(0, 5);
    }
  }

  function open(end) {
    var slot = dialog.querySelector('[data-session-end]');
    if (slot) {
      slot.textContent = timeOfDay(end);
    }
    dialog.showModal();
    var first = keepForm.querySelector('button');
    if (first) {
      first.focus();
    }
  }

  function toLogin() {
    location.assign(dialog.getAttribute('data-login-url') + '?next=' + encodeURIComponent(here()));
  }

  function keep() {
    fetch(keepForm.action, {method: 'POST', body: new FormData(keepForm), credentials: 'same-origin',
                            redirect: 'manual'})
      .then(function (response) {
        if (response.status === 204) {
          seen(Date.now());
          if (dialog.open) {
            dialog.close();
          }
        } else {
          toLogin();
        }
      }, function () { /* offline: the dialog stays, the user can try again */ });
  }

  // Log out through ``form`` (the dialog's, or the header's), saving the draft first where there is typing.
  function logOut(form, idleEnd) {
    ending = true;
    saveDraft().then(function (kept) {
      if (idleEnd) {
        hidden(form, 'idle', '1');
      }
      if (kept) {
        hidden(form, 'kept', '1');
      }
      form.submit();
    });
  }

  keepForm.addEventListener('submit', function (event) {
    event.preventDefault();
    keep();
  });
  dialog.addEventListener('cancel', function (event) { // Escape: the user is here, so go on
    event.preventDefault();
    keep();
  });
  var logoutAction = endForm.getAttribute('action');
  Array.prototype.forEach.call(document.querySelectorAll('form[method=post]'), function (form) {
    if (form.getAttribute('action') !== logoutAction) {
      return;
    }
    form.addEventListener('submit', function (event) {
      if (ending || !dirty()) {
        return;
      }
      event.preventDefault();
      logOut(form, false);
    });
  });

  function tick() {
    if (ending) {
      return;
    }
    var end = lastSeen() + idle;
    var left = end - Date.now();
    if (left <= 0) {
      // The server has ended the session already (a sleeping laptop, a throttled tab). With typing not saved the
      // page stays, so the text can still be copied; otherwise on to the log-in page.
      ending = true;
      if (!dirty()) {
        toLogin();
      }
    } else if (left <= margin || (document.hidden && left <= warning)) {
      // A tab in the background is woken rarely (once a minute in Chromium): it saves and logs out as soon as the
      // warning is due, instead of hoping to wake within the last seconds.
      logOut(endForm, true);
    } else if (left <= warning) {
      if (!dialog.open) {
        open(end);
      }
    } else if (dialog.open) {
      dialog.close(); // continued in another tab
    }
  }

  window.setInterval(tick, 1000);
  document.addEventListener('visibilitychange', tick);
})();
