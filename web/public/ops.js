// The ops map: every active order (at its destination) and every courier on one map,
// live over the notifier's ops socket (`/ws/ops`, docs/websocket.md), with filters by
// status. The page holds no data of its own: it asks for the ops key (or takes it from
// the link's `#key=…`, which never reaches a server), sends it in the first message and
// keeps it for this browser tab only.
'use strict';

(function () {
  const { STATUS_TEXT, FINAL, el, meta, when, setConnection, makeMap, backoff } = window.ordertrack;
  const ACTIVE = [
    'created', 'courier_assigned', 'handed_to_carrier', 'registration_failed',
    'picked_up', 'in_transit', 'arriving', 'delivery_failed',
  ];
  const COLORS = {
    created: '#8a8f98',
    courier_assigned: '#6f42c1',
    handed_to_carrier: '#0a7ea4',
    registration_failed: '#b3261e',
    picked_up: '#d97706',
    in_transit: '#1769e0',
    arriving: '#1a7f37',
    delivery_failed: '#b3261e',
  };
  const KEY_STORE = 'ordertrack-ops-key';
  const REFUSED = new Set([4006, 4007]); // ops_key_missing, ops_key_invalid

  const state = {
    key: '', socket: null, seq: 0, retryMs: 1000, map: null, fitted: false,
    orders: new Map(), couriers: new Map(), shown: new Set(ACTIVE), renderQueued: false,
  };

  // ---------------------------------------------------------------- the key

  function takeKey() {
    const match = /(?:^#|&)key=([^&]+)/.exec(location.hash);
    if (match) {
      sessionStorage.setItem(KEY_STORE, decodeURIComponent(match[1]));
      history.replaceState(null, '', location.pathname + location.search);
    }
    return sessionStorage.getItem(KEY_STORE) || '';
  }

  function askForKey(problem) {
    sessionStorage.removeItem(KEY_STORE);
    state.key = '';
    el('board').hidden = true;
    el('key-form').hidden = false;
    el('key-problem').textContent = problem || '';
    el('key-problem').hidden = !problem;
    setConnection('offline', 'not connected');
    el('key-input').focus();
  }

  el('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = el('key-input').value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORE, key);
    el('key-input').value = '';
    start(key);
  });

  // ---------------------------------------------------------------- filters

  function buildFilters() {
    const bar = el('filters');
    bar.replaceChildren(...ACTIVE.map((status) => {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = state.shown.has(status);
      box.dataset.status = status;
      box.addEventListener('change', () => {
        if (box.checked) state.shown.add(status);
        else state.shown.delete(status);
        for (const order of state.orders.values()) placeOrder(order);
        queueRender();
      });
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = COLORS[status];
      label.append(box, swatch, ` ${STATUS_TEXT[status]} `);
      const count = document.createElement('span');
      count.className = 'muted';
      count.dataset.countFor = status;
      label.append(count);
      return label;
    }));
  }

  // ---------------------------------------------------------------- orders and couriers

  // A marker's tooltip, made once and then only rewritten (positions come every second).
  function label(marker, text) {
    if (marker.getTooltip()) marker.setTooltipContent(text);
    else marker.bindTooltip(text);
  }

  function placeOrder(order) {
    const point = [order.destination.lat, order.destination.lon];
    const visible = state.shown.has(order.status);
    if (!order.marker) {
      order.marker = L.circleMarker(point, { radius: 7, weight: 2 });
    }
    order.marker.setLatLng(point);
    order.marker.setStyle({ color: COLORS[order.status] || '#444', fillColor: COLORS[order.status] || '#444', fillOpacity: 0.7 });
    label(order.marker, `Order ${order.order_id} · ${STATUS_TEXT[order.status] || order.status}`);
    if (visible && !state.map.hasLayer(order.marker)) order.marker.addTo(state.map);
    if (!visible && state.map.hasLayer(order.marker)) order.marker.remove();
  }

  function upsertOrder(message) {
    const known = state.orders.get(message.order_id);
    if (known && known.version >= message.version) return;
    if (FINAL.has(message.status)) {
      if (known && known.marker) known.marker.remove();
      state.orders.delete(message.order_id);
      return;
    }
    const order = Object.assign(known || {}, {
      order_id: message.order_id, version: message.version, status: message.status,
      courier_id: message.courier_id, destination: message.destination, eta: message.eta,
    });
    state.orders.set(order.order_id, order);
    placeOrder(order);
  }

  // Couriers belong to stores: the same id in two stores is two couriers.
  function upsertCourier(message) {
    const point = [message.lat, message.lon];
    const key = `${message.store_id}/${message.courier_id}`;
    let courier = state.couriers.get(key);
    if (!courier) {
      courier = {
        marker: L.circleMarker(point, { radius: 6, color: '#0b1f44', weight: 2, fillColor: '#ffffff', fillOpacity: 1 }),
      };
      courier.marker.addTo(state.map);
      state.couriers.set(key, courier);
    }
    courier.marker.setLatLng(point);
    const orders = message.orders || [];
    label(courier.marker, `Courier ${message.courier_id} (${message.store_id}): ${orders.length} active order(s)`);
    courier.data = message;
  }

  function clearAll() {
    for (const order of state.orders.values()) if (order.marker) order.marker.remove();
    for (const courier of state.couriers.values()) courier.marker.remove();
    state.orders.clear();
    state.couriers.clear();
  }

  function fitOnce() {
    if (state.fitted) return;
    const points = [...state.orders.values()].map((o) => [o.destination.lat, o.destination.lon])
      .concat([...state.couriers.values()].map((c) => [c.data.lat, c.data.lon]));
    if (points.length === 0) return;
    state.map.fitBounds(L.latLngBounds(points).pad(0.15), { maxZoom: 15 });
    state.fitted = true;
  }

  // The list and the counts are redrawn at most once per frame however many messages came.
  function queueRender() {
    if (state.renderQueued) return;
    state.renderQueued = true;
    requestAnimationFrame(render);
  }

  function render() {
    state.renderQueued = false;
    const counts = {};
    const rows = [];
    const orders = [...state.orders.values()].sort((a, b) => ACTIVE.indexOf(a.status) - ACTIVE.indexOf(b.status)
      || a.order_id.localeCompare(b.order_id));
    for (const order of orders) {
      counts[order.status] = (counts[order.status] || 0) + 1;
      if (!state.shown.has(order.status)) continue;
      const row = document.createElement('tr');
      row.dataset.orderId = order.order_id;
      row.dataset.status = order.status;
      const cells = [
        order.order_id,
        STATUS_TEXT[order.status] || order.status,
        order.courier_id || '—',
        order.eta ? when(order.eta.expected_at, { timeStyle: 'short' }) : '—',
      ].map((text) => {
        const cell = document.createElement('td');
        cell.textContent = text;
        return cell;
      });
      cells[0].replaceChildren(Object.assign(document.createElement('code'), { textContent: order.order_id }));
      row.append(...cells);
      row.addEventListener('click', () => state.map.setView([order.destination.lat, order.destination.lon], 16));
      rows.push(row);
    }
    el('orders').replaceChildren(...rows);
    for (const node of document.querySelectorAll('[data-count-for]')) {
      node.textContent = `(${counts[node.dataset.countFor] || 0})`;
    }
    el('order-count').textContent = String(rows.length);
    el('order-total').textContent = String(state.orders.size);
    el('courier-count').textContent = String(state.couriers.size);
  }

  // ---------------------------------------------------------------- the socket

  function handle(message) {
    if (state.seq !== 0 && message.seq !== state.seq + 1) {
      // Missed something: a new socket starts with a fresh snapshot.
      reconnectNow();
      return;
    }
    state.seq = message.seq;
    switch (message.type) {
      case 'subscribed':
        state.retryMs = 1000;
        setConnection('live', 'live');
        break;
      case 'snapshot':
        clearAll();
        for (const order of message.orders) upsertOrder(order);
        for (const courier of message.couriers) upsertCourier(courier);
        break;
      case 'order':
        upsertOrder(message);
        break;
      case 'courier':
        upsertCourier(message);
        break;
      case 'error':
        setConnection('offline', `server: ${message.code}`);
        break;
      default:
        break;
    }
    fitOnce();
    queueRender();
  }

  function connect() {
    const socket = new WebSocket(meta('ordertrack-ops-socket'));
    state.socket = socket;
    state.seq = 0;
    setConnection('connecting', 'connecting…');
    socket.onopen = () => socket.send(JSON.stringify({ type: 'subscribe', key: state.key, scope: 'all' }));
    socket.onmessage = (event) => {
      try {
        handle(JSON.parse(event.data));
      } catch (error) {
        // A message this page does not understand is skipped.
      }
    };
    socket.onclose = (event) => {
      if (state.socket !== socket) return; // replaced on purpose
      state.socket = null;
      if (REFUSED.has(event.code)) {
        askForKey('The notifier refused this ops key. Enter the right one.');
        return;
      }
      setConnection('offline', 'reconnecting…');
      setTimeout(connect, state.retryMs);
      state.retryMs = backoff(state.retryMs);
    };
  }

  function reconnectNow() {
    const old = state.socket;
    state.socket = null;
    if (old) old.close();
    connect();
  }

  function start(key) {
    state.key = key;
    el('key-form').hidden = true;
    el('board').hidden = false;
    if (!state.map) {
      state.map = makeMap();
      state.map.setView([20, 0], 2); // until the first snapshot shows where things are
      buildFilters();
    }
    connect();
  }

  const key = takeKey();
  if (key) start(key);
  else askForKey('');
})();
