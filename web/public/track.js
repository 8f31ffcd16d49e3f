// The customer's tracking page: the public view from GET /track/{token}, then live
// updates over the notifier's WebSocket. Reconnects by itself; refetches the view (and a
// fresh ticket) when it missed something. Shows no personal data: the view has none.
'use strict';

(function () {
  const { STATUS_TEXT, FINAL, el, when, setConnection, makeMap, backoff } = window.ordertrack;
  const token = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');

  const state = { version: 0, seq: 0, status: '', socket: null, retryMs: 1000, map: null, layers: {} };

  function showProblem(text) {
    const node = el('problem');
    node.textContent = text;
    node.hidden = false;
    el('summary').hidden = true;
    el('timeline-box').hidden = true;
    el('map').hidden = true;
    setConnection('offline', '');
  }

  function renderStatus(status) {
    state.status = status;
    const node = el('status');
    node.dataset.status = status;
    node.textContent = STATUS_TEXT[status] || status;
    el('summary').hidden = false;
  }

  function renderEta(eta) {
    const line = el('eta-line');
    if (!eta || FINAL.has(state.status)) {
      line.hidden = true;
      return;
    }
    el('eta').textContent = when(eta.expected_at);
    el('eta-range').textContent = `(between ${when(eta.earliest)} and ${when(eta.latest)})`;
    line.hidden = false;
  }

  function timelineItem(entry) {
    const item = document.createElement('li');
    item.dataset.status = entry.status;
    const time = document.createElement('time');
    time.dateTime = entry.at;
    time.textContent = when(entry.at);
    const what = document.createElement('span');
    what.className = 'what';
    what.textContent = STATUS_TEXT[entry.status] || entry.status;
    item.append(time, what);
    if (entry.carrier_note) {
      const detail = document.createElement('span');
      detail.className = 'detail';
      detail.textContent = entry.carrier_note;
      item.append(detail);
    }
    return item;
  }

  function renderTimeline(entries) {
    const list = el('timeline');
    list.replaceChildren(...entries.map(timelineItem));
    el('timeline-box').hidden = entries.length === 0;
  }

  function ensureMap(destination) {
    if (state.map) return;
    const map = makeMap();
    state.layers.destination = L.circleMarker([destination.lat, destination.lon], {
      radius: 9, color: '#b3261e', fillColor: '#e5534b', fillOpacity: 0.9,
    }).bindTooltip('Destination').addTo(map);
    state.layers.path = L.polyline([], { color: '#1769e0', weight: 4, opacity: 0.7 }).addTo(map);
    map.setView([destination.lat, destination.lon], 14);
    state.map = map;
  }

  function renderCourier(position, trail) {
    if (!state.map) return;
    const point = [position.lat, position.lon];
    if (!state.layers.courier) {
      state.layers.courier = L.circleMarker(point, {
        radius: 8, color: '#0b3d91', fillColor: '#1769e0', fillOpacity: 1,
      }).bindTooltip('Courier').addTo(state.map);
      state.map.fitBounds(L.latLngBounds([point, state.layers.destination.getLatLng()]).pad(0.3));
    } else {
      state.layers.courier.setLatLng(point);
    }
    for (const p of trail || []) state.layers.path.addLatLng(p);
    // For people and for tests: where the marker is.
    el('map').dataset.courier = `${position.lat.toFixed(5)},${position.lon.toFixed(5)}`;
  }

  function applySnapshot(view) {
    const order = view.order;
    state.version = order.version;
    renderStatus(order.status);
    renderEta(order.eta);
    renderTimeline(order.timeline);
    ensureMap(order.destination);
    state.layers.path.setLatLngs(order.path.map((p) => [p.lat, p.lon]));
    if (order.courier_position) renderCourier(order.courier_position, []);
  }

  async function loadView() {
    let response;
    try {
      response = await fetch(`/track/${encodeURIComponent(token)}`, {
        headers: { Accept: 'application/json' }, cache: 'no-store',
      });
    } catch (error) {
      return { retry: true };
    }
    if (response.status === 404) {
      showProblem('This tracking link does not exist. Check the link in your message or ask the shop for a new one.');
      return { stop: true };
    }
    if (response.status === 410) {
      showProblem('This tracking link has expired: the order was completed some time ago.');
      return { stop: true };
    }
    if (!response.ok) return { retry: true };
    return { view: await response.json() };
  }

  function handle(message) {
    if (state.seq !== 0 && message.seq !== state.seq + 1) return refresh();
    state.seq = message.seq;
    switch (message.type) {
      case 'hello':
        if (message.version > state.version) return refresh();
        break;
      case 'update':
        if (message.version > state.version + 1) return refresh();
        if (message.version <= state.version) break;
        state.version = message.version;
        renderStatus(message.status);
        renderEta(message.eta);
        if (message.timeline_entry) el('timeline').append(timelineItem(message.timeline_entry));
        el('timeline-box').hidden = false;
        break;
      case 'position':
        renderCourier(message, message.trail);
        break;
      default:
        break;
    }
    return undefined;
  }

  function connect(live) {
    const socket = new WebSocket(`${live.url}?ticket=${encodeURIComponent(live.ticket)}`);
    state.socket = socket;
    state.seq = 0;
    socket.onopen = () => {
      state.retryMs = 1000;
      setConnection('live', 'live');
    };
    socket.onmessage = (event) => {
      try {
        handle(JSON.parse(event.data));
      } catch (error) {
        // A message this page does not understand is skipped.
      }
    };
    socket.onclose = () => {
      if (state.socket !== socket) return; // replaced on purpose
      state.socket = null;
      if (FINAL.has(state.status)) {
        setConnection('offline', 'finished');
        return;
      }
      setConnection('offline', 'reconnecting…');
      setTimeout(() => refresh(), state.retryMs);
      state.retryMs = backoff(state.retryMs);
    };
  }

  async function refresh() {
    const old = state.socket;
    state.socket = null;
    if (old) old.close();
    const loaded = await loadView();
    if (loaded.stop) return;
    if (loaded.retry) {
      setConnection('offline', 'offline, retrying…');
      setTimeout(refresh, state.retryMs);
      state.retryMs = backoff(state.retryMs);
      return;
    }
    applySnapshot(loaded.view);
    connect(loaded.view.live);
  }

  refresh();
})();
