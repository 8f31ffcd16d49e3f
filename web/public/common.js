// What the tracking page and the ops map share: status names, small DOM helpers, the
// map's tiles. Loaded before the page's own script; everything hangs off `ordertrack`.
'use strict';

window.ordertrack = (function () {
  const STATUS_TEXT = {
    created: 'Order received',
    courier_assigned: 'Courier assigned',
    handed_to_carrier: 'Handed to the carrier',
    registration_failed: 'Carrier registration failed',
    picked_up: 'Picked up',
    in_transit: 'On its way',
    arriving: 'Arriving',
    delivered: 'Delivered',
    delivery_failed: 'Delivery failed',
    returned: 'Returned to the sender',
    cancelled: 'Cancelled',
  };
  const FINAL = new Set(['delivered', 'cancelled', 'returned']);
  const el = (id) => document.getElementById(id);
  const meta = (name) => (document.querySelector(`meta[name="${name}"]`) || {}).content || '';

  function when(iso, options) {
    const date = new Date(iso);
    return isNaN(date) ? '' : date.toLocaleString([], options || { dateStyle: 'medium', timeStyle: 'short' });
  }

  function setConnection(kind, text) {
    const node = el('connection');
    node.dataset.state = kind;
    node.textContent = text;
  }

  // A Leaflet map on #map with the configured tiles. Without tiles (or when they cannot
  // load, as without internet) the markers and lines show on the plain background of #map.
  function makeMap() {
    const map = L.map('map', { zoomControl: true, attributionControl: true });
    const tiles = meta('ordertrack-tiles');
    if (tiles) L.tileLayer(tiles, { maxZoom: 19, attribution: meta('ordertrack-tiles-attribution') }).addTo(map);
    return map;
  }

  // The next wait before reconnecting: doubles up to 30 s.
  function backoff(ms) {
    return Math.min(ms * 2, 30000);
  }

  return { STATUS_TEXT, FINAL, el, meta, when, setConnection, makeMap, backoff };
})();
