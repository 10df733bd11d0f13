namespace Memspace.Cli.Map;

/// <summary>
/// The map page: HTML with its style and script inline. <c>{{TITLE}}</c> is replaced by the
/// HTML-encoded title and <c>{{DATA}}</c> by the map's JSON (with '&lt;', '&gt;' and '&amp;' escaped).
/// The script only sets text (never markup), so names from an imported dump cannot inject anything,
/// and the Content-Security-Policy forbids any network access.
/// </summary>
internal static class MapPageTemplate
{
    /// <summary>The page.</summary>
    public const string Html = """
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>Memory map: {{TITLE}}</title>
<style>
  body { font: 13px/1.35 system-ui, sans-serif; margin: 0; color: #1d232b; background: #f6f7f9; }
  header { padding: 10px 16px; background: #263238; color: #eceff1; }
  header h1 { font-size: 16px; margin: 0 0 4px 0; }
  header form { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
  header input { font: 13px monospace; width: 22ch; }
  #main { display: flex; gap: 12px; padding: 12px 16px; align-items: flex-start; }
  #left { flex: 1 1 auto; min-width: 0; }
  #tree { flex: 0 0 34%; max-height: 88vh; overflow: auto; background: #fff; border: 1px solid #cfd8dc; padding: 6px 8px; font: 12px monospace; }
  .lane-row { margin-bottom: 14px; }
  .lane-name { font-weight: 600; margin-bottom: 2px; }
  .lane-name small { font-weight: normal; color: #546e7a; }
  .lane { display: flex; overflow-x: auto; position: relative; border: 1px solid #b0bec5; background: #fff; padding-bottom: 16px; }
  .seg { flex: none; height: 46px; box-sizing: border-box; border-right: 1px solid #fff; position: relative; cursor: crosshair; overflow: hidden; }
  .seg .label { position: absolute; left: 3px; top: 3px; right: 2px; font-size: 11px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; color: #fff; pointer-events: none; }
  .seg .addr { position: absolute; left: 2px; bottom: 1px; font: 9px monospace; color: rgba(255,255,255,.85); pointer-events: none; white-space: nowrap; }
  .gap { background: repeating-linear-gradient(135deg, #eceff1 0 6px, #e0e4e7 6px 12px); }
  .gap .label, .gap .addr { color: #78909c; }
  .kind-ram { background: #2e7d32; }
  .kind-rom { background: #1565c0; }
  .kind-romd { background: #6a1b9a; }
  .kind-io { background: #ef6c00; }
  .seg.alias { background-image: repeating-linear-gradient(45deg, rgba(255,255,255,.28) 0 5px, transparent 5px 10px); outline: 2px dashed rgba(0,0,0,.35); outline-offset: -3px; }
  .seg.selected { box-shadow: inset 0 0 0 3px #ffd600; }
  .marker { position: absolute; top: 0; width: 2px; height: 46px; background: #d50000; pointer-events: none; display: none; }
  #legend { display: flex; gap: 12px; flex-wrap: wrap; margin: 4px 0 10px; }
  #legend span { display: inline-flex; align-items: center; gap: 4px; }
  #legend i { width: 18px; height: 12px; display: inline-block; }
  #explanation { background: #fff; border: 1px solid #cfd8dc; padding: 8px; font: 12px monospace; white-space: pre; overflow-x: auto; min-height: 12em; margin: 0; }
  #status { color: #b71c1c; min-height: 1.3em; }
  #tree ul { list-style: none; margin: 0; padding-left: 14px; }
  #tree > ul { padding-left: 0; }
  #tree .node { cursor: pointer; white-space: pre; }
  #tree .node:hover { background: #fff59d; }
  #tree .disabled { color: #90a4ae; }
  #tree h2 { font: 600 12px monospace; margin: 8px 0 2px; }
</style>
</head>
<body>
<header>
  <h1>Memory map: {{TITLE}}</h1>
  <form id="lookup">
    <label>address <input id="address" placeholder="0xf0010" autocomplete="off" spellcheck="false"></label>
    <label>in <select id="space"></select></label>
    <button id="go" type="submit">explain</button>
    <span>hover a lane to explain an address, click to keep it</span>
  </form>
</header>
<div id="main">
  <div id="left">
    <div id="legend"></div>
    <div id="lanes"></div>
    <div id="status"></div>
    <pre id="explanation">Hover over a lane, click it, or type an address above.</pre>
  </div>
  <div id="tree"></div>
</div>
<script type="application/json" id="map-data">{{DATA}}</script>
<script>
"use strict";
(function () {
  const MASK = (1n << 64n) - 1n;
  const data = JSON.parse(document.getElementById("map-data").textContent);
  const spaces = data.spaces.map(s => ({
    name: s.name, root: s.root, size: BigInt(s.size), tree: s.tree,
    ranges: s.ranges.map(r => ({ start: BigInt(r.start), end: BigInt(r.end), region: r.region, kind: r.kind, alias: r.alias, offset: r.offset })),
    explain: s.explain.map(t => ({ start: BigInt(t[0]), parts: t[1], values: t[2] })),
  }));
  let pinned = false;

  function hex(v, width) { let s = v.toString(16); if (width) s = s.padStart(width, "0"); return "0x" + s; }

  // The same arithmetic as ExplanationTemplate.Render: base + (address - start), modulo 2^64.
  function explain(space, address) {
    const list = space.explain;
    let lo = 0, hi = list.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (list[mid].start <= address) lo = mid; else hi = mid - 1; }
    const t = list[lo], delta = address - t.start;
    let out = t.parts[0];
    for (let k = 0; k + 1 < t.parts.length; k++) {
      out += hex((BigInt(t.values[2 * k]) + delta) & MASK, t.values[2 * k + 1]) + t.parts[k + 1];
    }
    return out;
  }

  function parseAddress(text) {
    text = text.trim().replace(/_/g, "");
    let v;
    if (/^0x[0-9a-f]+$/i.test(text)) v = BigInt("0x" + text.slice(2));
    else if (/^[0-9]+$/.test(text)) v = BigInt(text);
    else return null;
    return v <= MASK ? v : null;
  }

  function bits(len) { return Math.log2(Number(len)); }
  // Log2 widths: a 4 KiB device stays wider than 20 px next to a 2^64-byte container.
  function width(len) { return Math.max(20, Math.round(6 * bits(len) + 12)); }

  function segments(space) {
    const segs = [];
    let pos = 0n;
    for (const r of space.ranges) {
      if (r.start > pos) segs.push({ gap: true, start: pos, end: r.start });
      segs.push(r);
      pos = r.end;
    }
    if (pos < space.size) segs.push({ gap: true, start: pos, end: space.size });
    return segs;
  }

  const kindClass = { "ram": "kind-ram", "rom": "kind-rom", "romd": "kind-romd", "i/o": "kind-io" };
  const kindName = { "ram": "RAM", "rom": "ROM", "romd": "ROM device", "i/o": "MMIO / I/O" };

  function show(space, address, pin, lane, seg) {
    if (pinned && !pin) return;
    pinned = pinned || pin;
    document.getElementById("status").textContent = "";
    const pre = document.getElementById("explanation");
    pre.textContent = explain(space, address);
    pre.dataset.space = space.name;
    pre.dataset.address = hex(address, 0);
    for (const el of document.querySelectorAll(".seg.selected")) el.classList.remove("selected");
    for (const m of document.querySelectorAll(".marker")) m.style.display = "none";
    const target = lane || document.querySelector(`.lane[data-index="${spaces.indexOf(space)}"]`);
    if (!target) return;
    const el = seg || Array.from(target.querySelectorAll(".seg")).find(e => e._seg.start <= address && address < e._seg.end);
    if (!el) return;
    if (pin) el.classList.add("selected");
    const s = el._seg, len = s.end - s.start;
    const frac = Number(((address - s.start) << 20n) / len) / (1 << 20);
    const marker = target.querySelector(".marker");
    marker.style.left = (el.offsetLeft + frac * el.offsetWidth) + "px";
    marker.style.display = "block";
    if (pin && !seg) el.scrollIntoView({ block: "nearest", inline: "center" });
  }

  function addressAt(el, clientX) {
    const rect = el.getBoundingClientRect();
    const frac = Math.min(Math.max((clientX - rect.left) / rect.width, 0), 0.999999);
    const s = el._seg, len = s.end - s.start;
    let a = s.start + (len * BigInt(Math.floor(frac * (1 << 20)))) / (1n << 20n);
    return a < s.end ? a : s.end - 1n;
  }

  function buildLegend() {
    const legend = document.getElementById("legend");
    for (const [cls, name] of [["kind-ram", "RAM"], ["kind-rom", "ROM"], ["kind-romd", "ROM device"], ["kind-io", "MMIO / I/O"], ["kind-ram alias seg", "reached through an alias (alias target)"], ["gap", "nothing mapped"]]) {
      const span = document.createElement("span");
      const i = document.createElement("i");
      i.className = cls;
      i.style.height = "12px";
      span.append(i, document.createTextNode(name));
      legend.append(span);
    }
  }

  function buildLanes() {
    const lanes = document.getElementById("lanes");
    const select = document.getElementById("space");
    spaces.forEach((space, index) => {
      const opt = document.createElement("option");
      opt.value = String(index);
      opt.textContent = space.name;
      select.append(opt);
      const row = document.createElement("div");
      row.className = "lane-row";
      const name = document.createElement("div");
      name.className = "lane-name";
      name.textContent = `address-space: ${space.name} `;
      const small = document.createElement("small");
      small.textContent = `root '${space.root}', ${space.ranges.length} flat ranges, [0x0, ${hex(space.size, 0)})`;
      name.append(small);
      const lane = document.createElement("div");
      lane.className = "lane";
      lane.dataset.space = space.name;
      lane.dataset.index = String(index);
      for (const s of segments(space)) {
        const el = document.createElement("div");
        el._seg = s;
        el.className = "seg " + (s.gap ? "gap" : kindClass[s.kind] || "kind-io") + (s.alias ? " alias range" : s.gap ? "" : " range");
        el.style.width = width(s.end - s.start) + "px";
        el.dataset.start = hex(s.start, 0);
        el.dataset.end = hex(s.end, 0);
        if (!s.gap) { el.dataset.region = s.region; el.dataset.kind = s.kind; el.dataset.alias = String(s.alias); }
        el.title = s.gap ? `[${hex(s.start, 0)}, ${hex(s.end, 0)}) nothing mapped`
          : `[${hex(s.start, 0)}, ${hex(s.end, 0)}) ${kindName[s.kind] || s.kind} '${s.region}' @${s.offset}${s.alias ? " (through an alias)" : ""}`;
        const label = document.createElement("span");
        label.className = "label";
        label.textContent = s.gap ? "" : s.region;
        const addr = document.createElement("span");
        addr.className = "addr";
        addr.textContent = hex(s.start, 0);
        el.append(label, addr);
        el.addEventListener("mousemove", ev => show(space, addressAt(el, ev.clientX), false, lane, el));
        el.addEventListener("click", ev => { pinned = false; show(space, addressAt(el, ev.clientX), true, lane, el); });
        lane.append(el);
      }
      const marker = document.createElement("div");
      marker.className = "marker";
      lane.append(marker);
      row.append(name, lane);
      lanes.append(row);
    });
  }

  function buildTree() {
    const tree = document.getElementById("tree");
    spaces.forEach((space, index) => {
      const h = document.createElement("h2");
      h.textContent = `address-space: ${space.name}`;
      const ul = document.createElement("ul");
      ul.append(node(space.tree, space, index));
      tree.append(h, ul);
    });
  }

  function node(r, space, index) {
    const li = document.createElement("li");
    const line = document.createElement("span");
    line.className = "node" + (r.enabled ? "" : " disabled");
    line.dataset.region = r.name;
    const range = `${r.start.slice(2).padStart(16, "0")}-${r.last.slice(2).padStart(16, "0")}`;
    line.textContent = `${range} (prio ${r.prio}, ${r.type}): ${r.target !== undefined ? `alias ${r.name} @${r.target} +${r.targetOffset}` : r.name}${r.enabled ? "" : " [disabled]"}`;
    line.title = "explain this region's first address";
    line.addEventListener("click", () => {
      const a = BigInt(r.start);
      if (a <= MASK) { pinned = false; document.getElementById("space").value = String(index); show(space, a, true); }
    });
    li.append(line);
    if (r.children) {
      const ul = document.createElement("ul");
      for (const c of r.children) ul.append(node(c, space, index));
      li.append(ul);
    }
    return li;
  }

  document.getElementById("lookup").addEventListener("submit", ev => {
    ev.preventDefault();
    const text = document.getElementById("address").value;
    const a = parseAddress(text);
    if (a === null) {
      document.getElementById("status").textContent = `bad address '${text}': give 0x-prefixed hex or a decimal number below 2^64`;
      return;
    }
    pinned = false;
    show(spaces[Number(document.getElementById("space").value)], a, true);
  });

  buildLegend();
  buildLanes();
  buildTree();
  const memory = spaces.findIndex(s => s.name === "memory");
  if (memory >= 0) document.getElementById("space").value = String(memory);
  window.memspaceMap = { explain: (name, a) => explain(spaces.find(s => s.name === name), BigInt(a)) };
  document.body.dataset.ready = "true";
})();
</script>
</body>
</html>
""";
}
