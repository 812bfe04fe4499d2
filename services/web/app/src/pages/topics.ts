// Topics: the tenant's saved queries. Create, edit (the same form, filled), delete (after a confirm);
// each topic opens its overview. The query field is the same validated editor as Search's.

import { topics } from "../api";
import { empty, h, replace } from "../dom";
import { queryEditor } from "../editor";
import { errorBox } from "../load";
import { href } from "../route";
import { fmtTime, browserZone } from "../time";

export function topicsPage(main: HTMLElement): void {
  const list = h("section", { class: "panel", "aria-label": "Saved topics", "data-testid": "topics-list", "aria-busy": "true" });
  const formBox = h("section", { class: "panel", "aria-label": "Topic form" });
  main.append(h("h1", {}, "Topics"), h("div", { class: "grid two" }, list, formBox));

  const refresh = async () => {
    list.setAttribute("aria-busy", "true");
    try {
      const r = await topics("ListTopics");
      const rows: any[] = (r.topics ?? []).sort((a: any, b: any) => a.name.localeCompare(b.name));
      replace(list, h("h2", {}, "Saved topics"), rows.length ? topicTable(rows) : empty("No topic yet: create the first one with the form."));
    } catch (e) {
      replace(list, h("h2", {}, "Saved topics"), errorBox(e));
    }
    list.setAttribute("aria-busy", "false");
  };

  const topicTable = (rows: any[]) =>
    h(
      "table",
      { class: "data" },
      h("thead", {}, h("tr", {}, ["Name", "Query", "Updated", ""].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        rows.map((t) =>
          h(
            "tr",
            { "data-topic": t.name },
            h("th", { scope: "row" }, h("a", { href: href("overview", { topic: t.name }) }, t.name), t.description ? h("div", { class: "muted" }, t.description) : null),
            h("td", {}, h("code", {}, t.query)),
            h("td", {}, t.updatedAt ? fmtTime(Date.parse(t.updatedAt), browserZone(), true) : ""),
            h(
              "td",
              { class: "actions" },
              h("button", { type: "button", onclick: () => showForm(t), "aria-label": `Edit ${t.name}` }, "Edit"),
              h(
                "button",
                {
                  type: "button",
                  class: "danger",
                  "aria-label": `Delete ${t.name}`,
                  onclick: async () => {
                    if (!confirm(`Delete the topic “${t.name}”? Alert rules watching it stop matching.`)) return;
                    try {
                      await topics("DeleteTopic", { topic: t.id });
                      await refresh();
                    } catch (e) {
                      list.append(errorBox(e));
                    }
                  },
                },
                "Delete",
              ),
            ),
          ),
        ),
      ),
    );

  const showForm = (existing: any | null) => {
    const name = h("input", { id: "topic-name", required: true, maxlength: 200, value: existing?.name ?? "", autocomplete: "off" });
    const editor = queryEditor("topic-query", existing?.query ?? "", "Query");
    const description = h("input", { id: "topic-description", value: existing?.description ?? "", autocomplete: "off" });
    const status = h("div", { "aria-live": "polite", "data-testid": "topic-status" });
    const form = h(
      "form",
      { class: "topic-form", "data-testid": "topic-form" },
      h("h2", {}, existing ? `Edit “${existing.name}”` : "New topic"),
      h("label", { for: "topic-name" }, "Name"),
      name,
      editor.root,
      h("label", { for: "topic-description" }, "Description (optional)"),
      description,
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, existing ? "Save changes" : "Create topic"), existing ? h("button", { type: "button", onclick: () => showForm(null) }, "Cancel") : null),
      status,
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = { name: name.value.trim(), query: editor.textarea.value.trim(), description: description.value.trim() };
      try {
        if (existing) await topics("UpdateTopic", { topic: existing.id, ...body });
        else await topics("CreateTopic", body);
        await refresh();
        showForm(null);
        formBox.querySelector("[data-testid=topic-status]")?.replaceChildren(h("p", { class: "ok" }, existing ? `Saved “${body.name}”.` : `Created “${body.name}”.`));
      } catch (err) {
        replace(status, errorBox(err));
      }
    });
    replace(formBox, form);
    if (existing) name.focus();
  };

  showForm(null);
  void refresh();
}
