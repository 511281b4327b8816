// Frontline's map page: vector tiles of the events over the region boundaries, a date range
// with a timeline, filters, a gazetteer search and popups with each event's sources.
// Everything comes from this origin; the view and the filters live in the URL hash.
import * as maplibregl from "./vendor/maplibre-gl.mjs";

const ORIGIN = window.location.origin;
const COUNTRIES_URL = new URL("./vendor/countries.geojson", import.meta.url).href;
const VERIFICATION_COLORS = {
  confirmed: "#1a7f37",
  corroborated: "#0e7490",
  claimed: "#d97706",
  disputed: "#7c3aed",
  unverified: "#64748b",
  refuted: "#b91c1c",
};
const FLY_ZOOM = { country: 5, region: 7, district: 9, settlement: 12, site: 13 };
const DAY_MS = 86400000;
// Filters the page has controls for; any other /events filter in the hash is passed through.
const OWN_KEYS = new Set(["map", "bbox", "datetime", "event_type", "verification"]);

const $ = (id) => document.getElementById(id);

function element(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name === "style") Object.assign(node.style, value); // CSSOM: allowed by the CSP
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function svgElement(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      // not a problem document
    }
    throw new Error(detail);
  }
  return response.json();
}

// ---- state in the URL hash: #map=zoom/lat/lon&datetime=…&event_type=…&verification=… ----

const state = { filters: new URLSearchParams(), view: null, fit: null };

function readHash() {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const view = (params.get("map") || "").split("/").map(Number);
  state.view = view.length === 3 && view.every(Number.isFinite)
    ? { zoom: view[0], lat: view[1], lon: view[2] } : null;
  const box = (params.get("bbox") || "").split(",").map(Number);
  state.fit = box.length === 4 && box.every(Number.isFinite) ? box : null;
  state.filters = new URLSearchParams();
  for (const [key, value] of params) {
    if (key !== "map" && key !== "bbox" && value !== "") state.filters.set(key, value);
  }
}

function writeHash(map) {
  const centre = map.getCenter();
  const view = `${map.getZoom().toFixed(2)}/${centre.lat.toFixed(4)}/${centre.lng.toFixed(4)}`;
  const params = new URLSearchParams({ map: view });
  for (const [key, value] of state.filters) params.set(key, value);
  const hash = "#" + params.toString().replaceAll("%2F", "/").replaceAll("%2C", ",");
  if (hash !== window.location.hash) window.history.replaceState(null, "", hash);
}

function filterQuery(without = []) {
  const params = new URLSearchParams(state.filters);
  for (const key of without) params.delete(key);
  return params.toString();
}

function withQuery(path, query) {
  return query ? `${path}${path.includes("?") ? "&" : "?"}${query}` : path;
}

function tileUrl() {
  return withQuery(`${ORIGIN}/tiles/events/{z}/{x}/{y}.mvt`, filterQuery());
}

// ---- the map ----

function style() {
  const root = document.documentElement;
  const basemap = root.dataset.basemap;
  const sources = {
    // Natural Earth's countries (public domain), vendored as GeoJSON by scripts/ensure-web.sh.
    countries: { type: "geojson", data: COUNTRIES_URL, attribution: "Countries: Natural Earth" },
    regions: {
      type: "geojson",
      data: `${ORIGIN}/collections/places/items?kind=region&geometry=boundary&limit=1000`,
      attribution: "Regions: geoBoundaries (ODbL), © OpenStreetMap contributors; places: GeoNames (CC BY 4.0)",
    },
    events: { type: "vector", tiles: [tileUrl()], minzoom: 0, maxzoom: 16,
              attribution: "Events: their cited sources; open data: UCDP GED (CC BY 4.0), air-raid alerts (MIT)" },
  };
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#e8edf1" } }];
  if (!basemap) {
    layers.push(
      // 1:110m outlines are context at low zoom; closer in, the regions' own lines take over.
      { id: "countries-fill", type: "fill", source: "countries", maxzoom: 7,
        paint: { "fill-color": "#f7f8f6" } },
      { id: "countries-line", type: "line", source: "countries", maxzoom: 7,
        paint: { "line-color": "#9aa7b1", "line-width": 0.8 } },
    );
  }
  if (basemap) {
    sources.basemap = {
      type: "raster", tiles: [basemap], tileSize: 256,
      attribution: root.dataset.basemapAttribution || "",
    };
    layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  const colorByVerification = ["match", ["get", "verification"]];
  for (const [name, color] of Object.entries(VERIFICATION_COLORS)) colorByVerification.push(name, color);
  colorByVerification.push("#334155");
  layers.push(
    { id: "regions-fill", type: "fill", source: "regions",
      paint: { "fill-color": "#b7c6d3", "fill-opacity": basemap ? 0.15 : 0.45 } },
    { id: "regions-line", type: "line", source: "regions",
      paint: { "line-color": "#52708c", "line-width": 1.2 } },
    { id: "event-cells", type: "circle", source: "events", "source-layer": "event_cells",
      paint: {
        "circle-color": "#c0392b", "circle-opacity": 0.55,
        "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "count"]], 1, 4, 100, 28],
        "circle-stroke-color": "#7f1d1d", "circle-stroke-width": 1,
      } },
    { id: "events", type: "circle", source: "events", "source-layer": "events",
      paint: {
        "circle-color": colorByVerification,
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 3, 4, 10, 7, 15, 10],
        "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5,
      } },
  );
  return { version: 8, sources, layers };
}

function initialView(extent) {
  if (state.view) return { center: [state.view.lon, state.view.lat], zoom: state.view.zoom };
  const box = state.fit || extent;
  if (box) return { bounds: [[box[0], box[1]], [box[2], box[3]]], fitBoundsOptions: { padding: 60, maxZoom: 11 } };
  return { center: [35.5, 50.5], zoom: 5 };
}

// Filter changes come in bursts (both ends of a date range, a dragged brush): the tiles are
// reloaded once per burst. Reloading again while the previous reload's tiles were in flight
// sometimes left the previous filter's tiles drawn (about one e2e run in ten).
const REFRESH_DELAY_MS = 100;
let pendingRefresh = null;

function refreshEvents(map) {
  clearTimeout(pendingRefresh);
  pendingRefresh = setTimeout(() => {
    const source = map.getSource("events");
    const url = tileUrl();
    if ((source.tiles || [])[0] !== url) source.setTiles([url]);
    writeHash(map);
    refreshCounts();
    drawTimeline();
  }, REFRESH_DELAY_MS);
}

// ---- popups ----

function formatTime(text) {
  if (!text) return "";
  const moment = new Date(text);
  const hasTime = moment.getUTCHours() || moment.getUTCMinutes();
  return moment.toLocaleString("en-GB", {
    timeZone: "UTC", day: "numeric", month: "short", year: "numeric",
    ...(hasTime ? { hour: "2-digit", minute: "2-digit" } : {}),
  }) + (hasTime ? " UTC" : "");
}

function eventSection(feature) {
  const p = feature.properties;
  const span = p.occurred_until && p.occurred_until !== p.occurred_at
    ? `${formatTime(p.occurred_at)} – ${formatTime(p.occurred_until)}` : formatTime(p.occurred_at);
  const sources = element("ul", { class: "sources" });
  for (const c of p.citations || []) {
    const name = c.url
      ? element("a", { href: c.url, target: "_blank", rel: "noopener noreferrer" }, c.source_name || c.source)
      : element("span", {}, c.source_name || c.source);
    sources.append(element("li", {}, name, " ",
      element("span", { class: `stance stance-${c.stance}` }, c.stance),
      c.published_at ? element("span", { class: "muted" }, ` · ${formatTime(c.published_at)}`) : null,
      // A citation a merge brought in: the report (dataset record) it first came with.
      c.merged_from ? element("span", { class: "muted merged-from" }, ` · merged from #${c.merged_from}`) : null));
  }
  const fatalities = p.fatalities === null || p.fatalities === undefined ? null
    : element("p", {}, `Reported fatalities: ${p.fatalities}`);
  return element("div", { class: "event", "data-event-id": String(feature.id) },
    element("h3", {}, p.title),
    element("p", { class: "time" }, `${span} (precision: ${p.time_precision})`),
    element("p", { class: "place" }, `${p.place_name || "Unnamed place"} · ${p.event_type.replaceAll("_", " ")} · `,
      element("span", { style: { color: VERIFICATION_COLORS[p.verification] || "inherit" } }, p.verification)),
    fatalities,
    element("p", { class: "muted" }, `Sources (${(p.citations || []).length}):`),
    sources,
    element("a", { href: `/events/${feature.id}?f=html` }, "All details"));
}

async function openEventPopup(map, lngLat, ids) {
  const box = element("div", { class: "popup" }, element("p", { class: "muted" }, "Loading…"));
  const popup = new maplibregl.Popup({ maxWidth: "22rem" }).setLngLat(lngLat).setDOMContent(box).addTo(map);
  try {
    const features = await Promise.all(ids.slice(0, 10).map((id) => getJSON(`/events/${id}`)));
    box.replaceChildren(...features.map(eventSection));
    if (ids.length > 10) box.append(element("p", { class: "muted" }, `and ${ids.length - 10} more here`));
  } catch (error) {
    box.replaceChildren(element("p", {}, `Could not load the event: ${error.message}`));
  }
  return popup;
}

function cellPopup(map, feature, lngLat) {
  const p = feature.properties;
  const box = element("div", { class: "popup" },
    element("h3", {}, `${p.count} events here`),
    element("p", {}, `${formatTime(p.first_at)} – ${formatTime(p.last_at)}`),
    p.fatalities !== undefined ? element("p", {}, `Reported fatalities: ${p.fatalities}`) : null,
    element("p", { class: "muted" }, "Zoom in to see each event."));
  new maplibregl.Popup().setLngLat(lngLat).setDOMContent(box).addTo(map);
}

// ---- counts and the timeline ----

let timelineData = null;
let timelineInterval = "week";

function chooseInterval(extent) {
  if (!extent || !extent[0] || !extent[1]) return "month";
  const days = (new Date(extent[1]) - new Date(extent[0])) / DAY_MS;
  return days <= 180 ? "day" : days <= 3 * 365 ? "week" : "month";
}

async function refreshCounts() {
  const status = $("status");
  try {
    const doc = await getJSON(withQuery("/stats/timeline?interval=month", filterQuery()));
    status.textContent = `${doc.total} ${doc.total === 1 ? "event matches" : "events match"} these filters`;
    status.dataset.total = String(doc.total);
  } catch (error) {
    status.textContent = `Filters not applied: ${error.message}`;
  }
}

async function loadTimeline() {
  const query = filterQuery(["datetime"]);
  timelineData = await getJSON(withQuery(`/stats/timeline?interval=${timelineInterval}`, query));
  drawTimeline();
}

function selectedRange() {
  const from = $("date-from").value ? Date.parse($("date-from").value) : null;
  const to = $("date-to").value ? Date.parse($("date-to").value) + DAY_MS : null;
  return [from, to];
}

function timelineScale(svg) {
  const buckets = timelineData ? timelineData.buckets : [];
  if (!buckets.length) return null;
  const width = svg.clientWidth || 300;
  const t0 = Date.parse(buckets[0].start);
  const t1 = Date.parse(buckets[buckets.length - 1].end);
  return { width, height: svg.clientHeight || 90, t0, t1, x: (t) => ((t - t0) / (t1 - t0)) * width };
}

function drawTimeline() {
  const svg = $("timeline");
  svg.replaceChildren();
  const scale = timelineScale(svg);
  const caption = $("timeline-caption");
  if (!scale) {
    caption.textContent = "No events for these filters.";
    return;
  }
  const { width, height, x } = scale;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const top = Math.max(...timelineData.buckets.map((b) => b.count));
  const [from, to] = selectedRange();
  const base = height - 14;
  for (const bucket of timelineData.buckets) {
    const start = Date.parse(bucket.start);
    const end = Date.parse(bucket.end);
    const h = Math.max(1, (bucket.count / top) * (base - 12));
    const inside = (from === null || end > from) && (to === null || start < to) && (from !== null || to !== null);
    const bar = svgElement("rect", {
      class: inside ? "bar in" : "bar", x: x(start), y: base - h,
      width: Math.max(1, x(end) - x(start) - 0.5), height: h,
    });
    const label = svgElement("title");
    label.textContent = `${bucket.start.slice(0, 10)}: ${bucket.count} events`;
    bar.append(label);
    svg.append(bar);
  }
  if (from !== null || to !== null) {
    const left = from === null ? 0 : Math.max(0, x(from));
    const right = to === null ? width : Math.min(width, x(to));
    if (right > left) svg.append(svgElement("rect", { class: "sel", x: left, y: 0, width: right - left, height: base }));
  }
  const first = svgElement("text", { x: 2, y: height - 3 });
  first.textContent = timelineData.buckets[0].start.slice(0, 10);
  const last = svgElement("text", { x: width - 2, y: height - 3, "text-anchor": "end" });
  last.textContent = timelineData.buckets[timelineData.buckets.length - 1].end.slice(0, 10);
  const peak = svgElement("text", { x: 2, y: 10 });
  peak.textContent = `max ${top}/${timelineInterval}`;
  svg.append(first, last, peak);
  caption.textContent = `${timelineData.total} events by ${timelineInterval} of their start; drag to choose dates, click to clear.`;
}

function isoDay(t) {
  return new Date(t).toISOString().slice(0, 10);
}

function brushTimeline(onChange) {
  const svg = $("timeline");
  let start = null;
  const timeAt = (event) => {
    const scale = timelineScale(svg);
    const rect = svg.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
    return scale ? scale.t0 + fraction * (scale.t1 - scale.t0) : null;
  };
  svg.addEventListener("pointerdown", (event) => {
    start = timeAt(event);
    svg.setPointerCapture(event.pointerId);
  });
  svg.addEventListener("pointerup", (event) => {
    const end = timeAt(event);
    if (start === null || end === null) return;
    const [a, b] = start < end ? [start, end] : [end, start];
    if (Math.abs(b - a) < DAY_MS) {
      $("date-from").value = "";
      $("date-to").value = "";
    } else {
      $("date-from").value = isoDay(a);
      $("date-to").value = isoDay(b);
    }
    start = null;
    onChange();
  });
}

// ---- filter controls ----

function datetimeFromInputs() {
  const from = $("date-from").value;
  const to = $("date-to").value;
  if (!from && !to) state.filters.delete("datetime");
  else state.filters.set("datetime", `${from || ".."}/${to || ".."}`);
}

function inputsFromDatetime() {
  const value = state.filters.get("datetime") || "";
  const [from = "", to = from] = value.split("/");
  const day = (text) => (/^\d{4}-\d{2}-\d{2}/.test(text) ? text.slice(0, 10) : "");
  $("date-from").value = day(from);
  $("date-to").value = day(to);
}

function buildChoices(containerId, key, options, colors) {
  const container = $(containerId);
  const chosen = new Set((state.filters.get(key) || "").split(",").filter(Boolean));
  for (const option of options) {
    const box = element("input", { type: "checkbox", value: option, name: key });
    box.checked = chosen.size === 0 || chosen.has(option);
    const swatch = colors ? element("span", { class: "swatch", style: { background: colors[option] } }) : null;
    container.append(element("label", {}, box, swatch, option.replaceAll("_", " ")));
  }
}

// All boxes ticked (or none: nothing is drawn then) means no filter on that property.
function choicesToFilter(containerId, key) {
  const boxes = [...$(containerId).querySelectorAll("input[type=checkbox]")];
  const checked = boxes.filter((b) => b.checked).map((b) => b.value);
  if (checked.length === boxes.length || checked.length === 0) state.filters.delete(key);
  else state.filters.set(key, checked.join(","));
  return checked.length > 0;
}

function showOtherFilters() {
  const others = [...state.filters].filter(([key]) => !OWN_KEYS.has(key));
  $("other-filters").textContent = others.length
    ? `Also filtered by ${others.map(([k, v]) => `${k}=${v}`).join(", ")}` : "";
}

// ---- place search ----

function setupSearch(map) {
  const input = $("search-q");
  const list = $("search-hits");
  let hits = [];
  let timer = null;
  const fly = (hit) => {
    list.replaceChildren();
    input.value = hit.properties.name;
    const [lon, lat] = hit.geometry.coordinates;
    map.flyTo({ center: [lon, lat], zoom: FLY_ZOOM[hit.properties.kind] || 10, essential: true });
  };
  const search = async () => {
    const q = input.value.trim();
    if (!q) {
      hits = [];
      list.replaceChildren();
      return hits;
    }
    const doc = await getJSON(`/places/search?q=${encodeURIComponent(q)}&limit=6`);
    hits = doc.features;
    list.replaceChildren(...hits.map((hit, i) => {
      const item = element("li", { role: "option", "aria-selected": i === 0 ? "true" : "false" },
        hit.properties.name, element("small", {}, hit.properties.admin_path || hit.properties.kind));
      item.addEventListener("click", () => fly(hit));
      return item;
    }));
    return hits;
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  $("search").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearTimeout(timer);
    const found = await search();
    if (found.length) fly(found[0]);
  });
}

// ---- start ----

async function main() {
  readHash();
  const [queryables, collection] = await Promise.all([
    getJSON("/collections/events/queryables"),
    getJSON("/collections/events"),
  ]);
  const extent = collection.extent.spatial.bbox[0];
  timelineInterval = chooseInterval(collection.extent.temporal && collection.extent.temporal.interval[0]);
  buildChoices("event-types", "event_type", queryables.properties.event_type.enum, null);
  buildChoices("verifications", "verification", queryables.properties.verification.enum, VERIFICATION_COLORS);
  inputsFromDatetime();
  showOtherFilters();

  const map = new maplibregl.Map({ container: "map", style: style(), ...initialView(state.fit ? null : extent) });
  map.addControl(new maplibregl.NavigationControl(), "top-right");
  map.addControl(new maplibregl.ScaleControl(), "bottom-right");
  window.frontline = { map, state };

  const onFilters = () => {
    datetimeFromInputs();
    const anyType = choicesToFilter("event-types", "event_type");
    const anyStatus = choicesToFilter("verifications", "verification");
    const visible = anyType && anyStatus ? "visible" : "none";
    for (const layer of ["events", "event-cells"]) map.setLayoutProperty(layer, "visibility", visible);
    refreshEvents(map);
    loadTimeline().catch(() => {});
  };
  for (const id of ["date-from", "date-to"]) $(id).addEventListener("change", onFilters);
  $("date-all").addEventListener("click", () => {
    $("date-from").value = "";
    $("date-to").value = "";
    onFilters();
  });
  for (const id of ["event-types", "verifications"]) $(id).addEventListener("change", onFilters);
  brushTimeline(onFilters);
  setupSearch(map);

  map.on("moveend", () => writeHash(map));
  map.on("click", (event) => {
    const hits = map.queryRenderedFeatures(event.point, { layers: ["events", "event-cells"] });
    const points = hits.filter((f) => f.layer.id === "events");
    if (points.length) {
      const ids = [...new Set(points.map((f) => f.properties.id))];
      openEventPopup(map, points[0].geometry.coordinates, ids);
    } else if (hits.length) {
      cellPopup(map, hits[0], hits[0].geometry.coordinates);
    }
  });
  for (const layer of ["events", "event-cells"]) {
    map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
  }
  map.once("load", () => {
    writeHash(map);
    document.body.dataset.ready = "true";
  });
  refreshCounts();
  loadTimeline().catch((error) => { $("timeline-caption").textContent = error.message; });
  window.addEventListener("resize", drawTimeline);
}

main().catch((error) => {
  $("status").textContent = `The map could not start: ${error.message}`;
  throw error;
});
