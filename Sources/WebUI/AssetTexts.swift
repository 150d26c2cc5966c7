// The stylesheet and the script, compiled into the binary (no npm, no files to deploy next to it).
// Edit them here; their URLs carry a hash of their content, so browsers may cache them for a year.

extension Assets {
    /// The one stylesheet.
    static let styleSheetText = #"""
        /* Portcullis web UI: one stylesheet. Tokens first (light, then dark), then layout, then components.
           Spacing stays on the 4 px scale: 4 8 12 16 24 32 48. */
        :root {
          --bg: #f6f8fa; --surface: #ffffff; --surface-2: #f0f2f5; --border: #d8dee4; --text: #1f2328;
          --muted: #57606a; --accent: #0b5fcc; --accent-text: #ffffff; --accent-soft: #ddeafc;
          --success: #1a7f37; --success-soft: #dafbe1; --warning: #8a5a00; --warning-soft: #fff4d1;
          --danger: #c62828; --danger-soft: #ffe6e6; --focus: #0b5fcc; --code-bg: #eff1f3;
          --radius: 6px; --mono: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace;
          --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
          color-scheme: light dark;
        }
        @media (prefers-color-scheme: dark) {
          :root {
            --bg: #0d1117; --surface: #161b22; --surface-2: #1c2230; --border: #30363d; --text: #e6edf3;
            --muted: #9da7b3; --accent: #4493f8; --accent-text: #0d1117; --accent-soft: #152a47;
            --success: #3fb950; --success-soft: #12261a; --warning: #d29922; --warning-soft: #2b2111;
            --danger: #f85149; --danger-soft: #2d1517; --focus: #4493f8; --code-bg: #1f2630;
          }
        }
        *, *::before, *::after { box-sizing: border-box; }
        html { -webkit-text-size-adjust: 100%; }
        body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.5 var(--sans); }
        a { color: var(--accent); text-decoration: none; }
        a:hover { text-decoration: underline; }
        :focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; border-radius: 2px; }
        code, pre, kbd, .mono { font-family: var(--mono); font-size: 13px; }
        h1 { font-size: 24px; line-height: 1.25; margin: 0; font-weight: 600; overflow-wrap: anywhere; }
        h2 { font-size: 18px; margin: 0 0 12px; font-weight: 600; }
        h3 { font-size: 15px; margin: 0 0 8px; font-weight: 600; }
        p { margin: 0 0 12px; }
        .visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
        .skip-link { position: absolute; left: -999px; top: 8px; background: var(--surface); padding: 8px 12px; z-index: 10; }
        .skip-link:focus { left: 8px; }

        /* Top bar */
        .topbar { display: flex; align-items: center; gap: 16px; padding: 8px 24px; background: var(--surface);
          border-bottom: 1px solid var(--border); position: sticky; top: 0; z-index: 5; min-height: 56px; }
        .brand { font-weight: 700; font-size: 16px; color: var(--text); display: flex; align-items: center; gap: 8px; white-space: nowrap; }
        .brand svg { flex: none; }
        .topbar .search { flex: 1; max-width: 480px; }
        .topbar .search input { width: 100%; }
        .usermenu { margin-left: auto; position: relative; }
        .usermenu summary { list-style: none; cursor: pointer; padding: 4px 8px; border-radius: var(--radius); display: flex; gap: 8px; align-items: center; min-height: 32px; }
        .usermenu summary::-webkit-details-marker { display: none; }
        .usermenu[open] summary, .usermenu summary:hover { background: var(--surface-2); }
        .menu { position: absolute; right: 0; top: 40px; background: var(--surface); border: 1px solid var(--border);
          border-radius: var(--radius); min-width: 200px; padding: 4px 0; box-shadow: 0 8px 24px rgba(0,0,0,.12); }
        .menu a, .menu button { display: block; width: 100%; text-align: left; padding: 8px 16px; color: var(--text);
          background: none; border: 0; font: inherit; cursor: pointer; }
        .menu a:hover, .menu button:hover { background: var(--surface-2); text-decoration: none; }
        .menu hr { border: 0; border-top: 1px solid var(--border); margin: 4px 0; }
        .avatar { width: 24px; height: 24px; border-radius: 50%; background: var(--accent-soft); color: var(--accent);
          display: inline-grid; place-items: center; font-size: 12px; font-weight: 700; text-transform: uppercase; }

        /* Frame: navigation beside content */
        .frame { display: grid; grid-template-columns: 208px minmax(0, 1fr); max-width: 1440px; margin: 0 auto; }
        .sidenav { padding: 24px 12px; }
        .sidenav ul { list-style: none; margin: 0; padding: 0; }
        .sidenav a { display: flex; gap: 8px; align-items: center; padding: 8px 12px; border-radius: var(--radius); color: var(--text); }
        .sidenav a:hover { background: var(--surface-2); text-decoration: none; }
        .sidenav a[aria-current="page"] { background: var(--accent-soft); color: var(--accent); font-weight: 600; }
        .sidenav .group { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; padding: 16px 12px 4px; }
        .navtoggle { display: none; }
        main { padding: 24px 32px 48px; min-width: 0; max-width: 1200px; }
        .breadcrumb { font-size: 13px; color: var(--muted); margin-bottom: 8px; overflow-wrap: anywhere; }
        .breadcrumb ol { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 4px; }
        .breadcrumb li + li::before { content: "›"; margin-right: 4px; color: var(--muted); }
        .pagehead { display: flex; gap: 16px; align-items: flex-start; justify-content: space-between; margin-bottom: 24px; flex-wrap: wrap; }
        .pagehead .lede { color: var(--muted); margin: 4px 0 0; }
        .pagehead .actions { display: flex; gap: 8px; flex-wrap: wrap; }
        .footer { color: var(--muted); font-size: 12px; padding: 24px 32px; }

        /* Cards and sections */
        .card { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); padding: 16px; margin-bottom: 24px; }
        .card > h2:first-child { margin-bottom: 12px; }
        .card.flush { padding: 0; }
        .card.flush > h2 { padding: 16px 16px 0; }
        .grid { display: grid; gap: 24px; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); }
        .tiles { display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); margin-bottom: 24px; }
        .tile { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); padding: 16px; }
        .tile .figure { font-size: 24px; font-weight: 600; font-variant-numeric: tabular-nums; }
        .tile .label { color: var(--muted); font-size: 13px; }
        .tile.alert .figure { color: var(--danger); }
        .facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 8px 24px; margin: 0; }
        .facts dt { color: var(--muted); }
        .facts dd { margin: 0; overflow-wrap: anywhere; }
        .muted { color: var(--muted); }
        .stack > * + * { margin-top: 12px; }

        /* Tables */
        .tablewrap { overflow-x: auto; }
        table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
        th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--border); vertical-align: top; }
        th { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .03em; white-space: nowrap; }
        th a { color: inherit; }
        tbody tr:hover { background: var(--surface-2); }
        tbody tr:last-child td { border-bottom: 0; }
        td.num, th.num { text-align: right; white-space: nowrap; }
        td.name { overflow-wrap: anywhere; min-width: 120px; }
        td.check, th.check { width: 32px; }
        .truncate { display: inline-block; max-width: 28ch; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: bottom; }
        .pager { display: flex; gap: 8px; align-items: center; justify-content: space-between; padding: 12px 16px; flex-wrap: wrap; color: var(--muted); font-size: 13px; }
        .pager nav { display: flex; gap: 4px; flex-wrap: wrap; }
        .pager a, .pager span.current { padding: 4px 10px; border: 1px solid var(--border); border-radius: var(--radius); min-width: 32px; text-align: center; }
        .pager span.current { background: var(--accent); color: var(--accent-text); border-color: var(--accent); }

        /* Badges */
        .badge { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: 12px; line-height: 20px; font-weight: 600;
          background: var(--surface-2); color: var(--muted); border: 1px solid var(--border); white-space: nowrap; }
        .badge.public, .badge.active, .badge.success { background: var(--success-soft); color: var(--success); border-color: transparent; }
        .badge.protected, .badge.warning, .badge.expired { background: var(--warning-soft); color: var(--warning); border-color: transparent; }
        .badge.private, .badge.danger, .badge.revoked, .badge.disabled { background: var(--danger-soft); color: var(--danger); border-color: transparent; }
        .badge.owner, .badge.admin, .badge.info { background: var(--accent-soft); color: var(--accent); border-color: transparent; }

        /* Buttons and forms */
        .button { display: inline-flex; align-items: center; justify-content: center; gap: 8px; min-height: 32px; padding: 4px 16px;
          border-radius: var(--radius); border: 1px solid var(--border); background: var(--surface); color: var(--text);
          font: inherit; font-weight: 500; cursor: pointer; white-space: nowrap; }
        .button:hover { background: var(--surface-2); text-decoration: none; }
        .button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
        .button.primary:hover { filter: brightness(1.08); }
        .button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
        .button.link { border: 0; background: none; color: var(--accent); padding: 0; min-height: 24px; }
        .button.small { min-height: 24px; padding: 0 8px; font-size: 13px; }
        .button[disabled] { opacity: .5; cursor: not-allowed; }
        input[type=text], input[type=password], input[type=email], input[type=search], input[type=url], input[type=number],
        input[type=date], select, textarea {
          width: 100%; min-height: 36px; padding: 6px 12px; border: 1px solid var(--border); border-radius: var(--radius);
          background: var(--surface); color: var(--text); font: inherit; }
        textarea { min-height: 96px; }
        input[type=checkbox], input[type=radio] { width: 16px; height: 16px; accent-color: var(--accent); }
        .field { margin-bottom: 16px; }
        .field label, .field .label { display: block; font-weight: 600; margin-bottom: 4px; }
        .field .help { color: var(--muted); font-size: 13px; margin-top: 4px; }
        .field .error { color: var(--danger); font-size: 13px; margin-top: 4px; }
        .field.invalid input, .field.invalid select, .field.invalid textarea { border-color: var(--danger); }
        .choices { display: flex; flex-wrap: wrap; gap: 8px 16px; }
        .choices label { display: inline-flex; gap: 8px; align-items: center; font-weight: 400; }
        .formrow { display: flex; gap: 8px; align-items: flex-start; flex-wrap: wrap; }
        .formrow > .button { margin-top: 28px; min-height: 36px; }
        .formrow .field { flex: 1; min-width: 160px; margin-bottom: 0; }
        .narrow { max-width: 480px; }
        .inline { display: inline; }

        /* Messages */
        .flash { padding: 12px 16px; border-radius: var(--radius); margin-bottom: 24px; border: 1px solid transparent; display: flex; gap: 12px; justify-content: space-between; }
        .flash.success { background: var(--success-soft); color: var(--success); }
        .flash.warning { background: var(--warning-soft); color: var(--warning); }
        .flash.error { background: var(--danger-soft); color: var(--danger); }
        .flash button { background: none; border: 0; color: inherit; cursor: pointer; font-size: 18px; line-height: 1; }
        .empty { text-align: center; padding: 32px 16px; color: var(--muted); }
        .empty strong { display: block; color: var(--text); font-size: 16px; margin-bottom: 4px; }
        .empty code { display: inline-block; margin-top: 8px; }
        .secret { border: 2px solid var(--success); background: var(--success-soft); border-radius: var(--radius); padding: 16px; margin-bottom: 24px; }
        .secret p { color: var(--text); }

        /* Copy fields */
        .copyfield { display: flex; align-items: stretch; border: 1px solid var(--border); border-radius: var(--radius); background: var(--code-bg); max-width: 100%; }
        .copyfield code { flex: 1; padding: 8px 12px; overflow-x: auto; white-space: nowrap; user-select: all; }
        .copyfield .copy { border: 0; border-left: 1px solid var(--border); background: none; color: var(--text); padding: 0 12px; cursor: pointer; font: inherit; font-size: 13px; min-width: 64px; }
        .copyfield .copy:hover { background: var(--surface-2); }
        .js-only { display: none; }
        .js .js-only { display: inline-flex; align-items: center; justify-content: center; }

        /* Sign-in and setup */
        .signin { max-width: 400px; margin: 64px auto; padding: 0 16px; }
        .signin .card { padding: 24px; }
        .signin h1 { margin-bottom: 16px; text-align: center; }
        .signin .brand { justify-content: center; margin-bottom: 24px; font-size: 20px; }
        .providers { display: grid; gap: 8px; margin-top: 16px; }
        .divider { display: flex; align-items: center; gap: 12px; color: var(--muted); font-size: 13px; margin: 16px 0; }
        .divider::before, .divider::after { content: ""; flex: 1; border-top: 1px solid var(--border); }

        /* Charts */
        .chart { width: 100%; max-width: 480px; height: 64px; display: block; }
        .chart rect { fill: var(--accent); }
        .chart .base { stroke: var(--border); }

        /* Narrow screens: navigation folds into a menu that needs no script */
        @media (max-width: 760px) {
          .topbar { padding: 8px 12px; gap: 8px; flex-wrap: wrap; }
          .topbar .search { order: 3; flex-basis: 100%; max-width: none; }
          .frame { grid-template-columns: minmax(0, 1fr); }
          .sidenav { padding: 0 12px; }
          .navtoggle { display: block; }
          .navtoggle summary { cursor: pointer; padding: 8px 12px; font-weight: 600; }
          .sidenav .full { display: none; }
          main { padding: 16px 12px 32px; }
          .pagehead { margin-bottom: 16px; }
          .hide-narrow { display: none; }
          th, td { padding: 8px; }
          td.name { min-width: 96px; }
          th { white-space: normal; }
          .facts { grid-template-columns: minmax(0, 1fr); gap: 0; }
          .facts dd { margin-bottom: 8px; }
          .truncate { max-width: 16ch; }
        }

        /* Namespace, repository and tag pages */
        .facts.spaced { margin-bottom: 24px; }
        .taglist { display: flex; flex-wrap: wrap; gap: 4px 12px; }
        .tagpick { display: inline-flex; align-items: center; gap: 4px; white-space: nowrap; }
        .tagpick input { margin: 0; }
        .platforms { display: inline-flex; flex-wrap: wrap; gap: 4px; margin-top: 4px; }
        .tagactions { padding: 12px 16px; align-items: center; }
        .pulls { margin-top: 12px; }
        details.editbox { margin-bottom: 24px; }
        details.editbox > summary { cursor: pointer; color: var(--accent); }
        code.digest { overflow-wrap: anywhere; }
        td time { white-space: nowrap; }
        fieldset.field { border: 0; padding: 0; margin-left: 0; margin-right: 0; }
        fieldset.field legend { font-weight: 600; padding: 0; margin-bottom: 4px; }
        .card p + .copyfield { margin-top: 8px; }
        /* Teams, administration and profile pages */
        .small { font-size: 13px; }
        .nowrap { white-space: nowrap; }
        .cardfoot { padding: 16px; border-top: 1px solid var(--border); }
        .cardfoot > .help { margin: 8px 0 0; color: var(--muted); font-size: 13px; }
        details.cardfoot > summary { list-style: none; display: inline-flex; }
        details.cardfoot > summary::-webkit-details-marker { display: none; }
        details.cardfoot[open] > summary { margin-bottom: 16px; }
        .rolechange { display: flex; gap: 8px; align-items: center; }
        .rolechange select { width: auto; min-height: 28px; padding: 2px 8px; }
        .linklist { list-style: none; margin: 0; padding: 0 16px 16px; display: flex; flex-wrap: wrap; gap: 8px 24px; }
        .button.danger-text { color: var(--danger); }
        .danger-zone { border-color: var(--danger); }
        .danger-zone h2 { color: var(--danger); }
        .tabs { display: flex; flex-wrap: wrap; gap: 4px; border-bottom: 1px solid var(--border); margin-bottom: 24px; }
        .tabs a { padding: 8px 10px; color: var(--muted); border-bottom: 2px solid transparent; margin-bottom: -1px; white-space: nowrap; }
        .tabs a:hover { color: var(--text); text-decoration: none; }
        .tabs a[aria-current="page"] { color: var(--text); border-bottom-color: var(--accent); font-weight: 600; }
        .filterbar { margin-bottom: 16px; }
        .filterbar .field { max-width: 480px; }
        .filters .formrow { align-items: center; }
        /* Below a grid of fields the button needs no label's height above it (.formrow's 28px is for buttons
           beside fields): the fields' own margin is the gap. */
        .filters .formrow > .button { margin-top: 0; }
        .filtergrid { display: grid; gap: 0 16px; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); }
        .secret h2 { margin-bottom: 8px; }
        .secret .copyfield { margin-bottom: 12px; background: var(--surface); }
        .badges { display: inline-flex; gap: 4px; flex-wrap: wrap; }
        label.check { display: inline-flex; gap: 8px; align-items: center; font-weight: 400; }
        fieldset.field { border: 0; padding: 0; margin: 0 0 16px; min-width: 0; }
        fieldset.field legend { padding: 0; font-weight: 600; margin-bottom: 4px; }
        td.detail { min-width: 180px; max-width: 320px; overflow-wrap: anywhere; }
        td.detail code { overflow-wrap: anywhere; font-size: 12px; }
        /* Visually hidden headers in a scrolled table must not widen the page. */
        .tablewrap { position: relative; }
        .grid { margin-bottom: 24px; }
        .grid > .card { margin-bottom: 0; }
        form > .help, .stack .help { color: var(--muted); font-size: 13px; margin: 4px 0 0; }
        """#

    /// The one script: progressive enhancement only (copy buttons, confirmations, filters, select-all).
    static let scriptText = #"""
        // Portcullis web UI: progressive enhancement only. Every flow works without this file.
        (function () {
          "use strict";
          document.documentElement.classList.add("js");
          var csrf = document.querySelector('meta[name="csrf-token"]');

          // Copy buttons: <button class="copy" data-copy="text">.
          document.addEventListener("click", function (event) {
            var button = event.target.closest("[data-copy]");
            if (!button) return;
            var text = button.getAttribute("data-copy");
            var done = function () {
              var label = button.textContent;
              button.textContent = "Copied";
              setTimeout(function () { button.textContent = label; }, 1500);
            };
            if (navigator.clipboard && window.isSecureContext) {
              navigator.clipboard.writeText(text).then(done, function () {});
            } else {
              var area = document.createElement("textarea");
              area.value = text;
              document.body.appendChild(area);
              area.select();
              try { document.execCommand("copy"); done(); } catch (e) {}
              area.remove();
            }
          });

          // Dismissable flash messages.
          document.addEventListener("click", function (event) {
            var close = event.target.closest("[data-dismiss]");
            if (close) close.parentElement.remove();
          });

          // Forms with data-confirm ask first; without script the server's confirmation page asks instead.
          document.addEventListener("submit", function (event) {
            var form = event.target;
            var question = form.getAttribute("data-confirm");
            if (question && !window.confirm(question)) event.preventDefault();
          });

          // Filter-as-you-type: <input data-filter="#table-id"> hides rows whose text does not match.
          document.querySelectorAll("[data-filter]").forEach(function (input) {
            var table = document.querySelector(input.getAttribute("data-filter"));
            if (!table) return;
            input.addEventListener("input", function () {
              var needle = input.value.trim().toLowerCase();
              table.querySelectorAll("tbody tr").forEach(function (row) {
                row.hidden = needle !== "" && row.textContent.toLowerCase().indexOf(needle) < 0;
              });
            });
          });

          // Select-all checkboxes: <input type=checkbox data-select-all="name"> and a live count on the button.
          document.querySelectorAll("[data-select-all]").forEach(function (all) {
            var name = all.getAttribute("data-select-all");
            var boxes = function () { return document.querySelectorAll('input[type=checkbox][name="' + name + '"]'); };
            var counter = document.querySelector('[data-count-for="' + name + '"]');
            var update = function () {
              var n = Array.prototype.filter.call(boxes(), function (b) { return b.checked; }).length;
              if (counter) { counter.disabled = n === 0; counter.textContent = counter.getAttribute("data-label").replace("#", n); }
            };
            all.addEventListener("change", function () {
              boxes().forEach(function (b) { b.checked = all.checked; });
              update();
            });
            boxes().forEach(function (b) { b.addEventListener("change", update); });
            update();
          });

          // Calls to the REST API from the page carry the session's CSRF token.
          window.portcullis = {
            api: function (method, path, body) {
              return fetch("/api/v1" + path, {
                method: method, credentials: "same-origin",
                headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf ? csrf.content : "" },
                body: body === undefined ? undefined : JSON.stringify(body)
              });
            }
          };
        })();
        """#
}
