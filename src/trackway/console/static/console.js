/* Trackway console: times in the viewer's zone, and the live page's feed.
   Everything else is plain HTML from the server. */
"use strict";

(function () {
  const ROWS_KEPT = 200;
  const stamp = new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });

  function utcText(date) {
    return date.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  // The server writes UTC; the viewer reads local time and hovers for UTC.
  function localise(root) {
    for (const element of root.querySelectorAll("time[datetime]")) {
      const date = new Date(element.getAttribute("datetime"));
      if (Number.isNaN(date.getTime())) continue;
      element.textContent = stamp.format(date);
      element.title = utcText(date);
    }
  }

  function nameZone() {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const text = zone ? "your time zone (" + zone + ")" : "your time zone";
    for (const element of document.querySelectorAll("[data-zone]")) {
      element.textContent = text;
    }
  }

  function element(tag, className, text) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined) made.textContent = text;
    return made;
  }

  function metaList(pairs) {
    if (!pairs.length) return element("span", "none", "no meta");
    const list = element("dl", "meta");
    for (const [key, text] of pairs) {
      const pair = element("div");
      pair.append(element("dt", "", key), element("dd", "", text));
      list.append(pair);
    }
    return list;
  }

  function eventRow(template, event) {
    const row = template.content.firstElementChild.cloneNode(true);
    row.classList.add("fresh");
    row.dataset.id = event.id;
    row.dataset.arrived = String(event.arrived);
    row.querySelector("time").setAttribute("datetime", event.publishedAt);
    row.querySelector("code").textContent = event.name;
    const who = row.querySelector(".customer");
    if (event.customer && event.customer.link) {
      const link = element("a", "", event.customer.name);
      link.href = event.customer.link;
      who.append(link);
    } else if (event.customer) {
      who.append(element("code", "", event.customer.name));
    } else {
      who.append(element("span", "none", "anonymous"));
    }
    const ids = row.querySelectorAll(".ids span");
    ids[0].textContent = event.trackingId;
    ids[1].textContent = event.sessionId;
    row.querySelector(".meta-cell").append(metaList(event.meta));
    localise(row);
    return row;
  }

  function rejectedItem(message) {
    const item = element("li");
    item.dataset.id = message.id;
    item.dataset.arrived = String(message.arrived);
    const time = element("time");
    time.setAttribute("datetime", message.receivedAt);
    item.append(time, " ", element("strong", "", message.reason), " ");
    item.append(element("span", "summary", message.summary));
    localise(item);
    return item;
  }

  // Latest arrival first, whatever order the stream delivers in.
  function insert(list, item) {
    const arrived = Number(item.dataset.arrived);
    let before = null;
    for (const other of list.children) {
      if (Number(other.dataset.arrived) <= arrived) {
        before = other;
        break;
      }
    }
    list.insertBefore(item, before);
    while (list.children.length > ROWS_KEPT) list.lastElementChild.remove();
  }

  function startLive() {
    const status = document.getElementById("live-status");
    const table = document.getElementById("live-events");
    if (!status || !table || !window.EventSource) return;
    const body = table.tBodies[0];
    const template = document.getElementById("live-row");
    const rejected = document.getElementById("live-rejected");
    const seen = new Set();
    for (const item of document.querySelectorAll("[data-id]")) {
      seen.add(item.dataset.id);
    }
    // Events written a little before the page opened may still come in;
    // they take their place in the list but are not counted as new.
    const opened = Number(status.dataset.opened);
    let added = 0;
    let quiet = null;

    function connected() {
      const count = added === 1 ? "1 new event" : added + " new events";
      status.textContent = "Connected: " + count + " since the page opened.";
    }

    function isNew(id) {
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    }

    const source = new EventSource(status.dataset.stream);
    source.addEventListener("open", () => {
      clearTimeout(quiet);
      connected();
    });
    source.addEventListener("tracking", (message) => {
      const event = JSON.parse(message.data);
      if (!isNew(event.id)) return;
      insert(body, eventRow(template, event));
      const empty = document.getElementById("live-empty");
      if (empty) empty.remove();
      if (event.arrived >= opened) added += 1;
      connected();
    });
    source.addEventListener("rejected", (message) => {
      const found = JSON.parse(message.data);
      if (rejected && isNew(found.id)) insert(rejected, rejectedItem(found));
    });
    source.addEventListener("error", () => {
      clearTimeout(quiet);
      if (source.readyState === EventSource.CLOSED) {
        status.textContent =
          "The live feed stopped. Reload the page; you may need to sign in again.";
        return;
      }
      // Each stream ends after a while and the browser reconnects at once;
      // only a longer gap is worth a word.
      quiet = setTimeout(() => {
        status.textContent = "Reconnecting…";
      }, 3000);
    });
  }

  localise(document);
  nameZone();
  startLive();
})();
