// What to do when the server announces a new version of the app's files.
// Pure: no DOM, so it is unit-tested in tests/js/reload.test.mjs.

/**
 * 'css' when only stylesheets changed (swap them in place; a call goes on),
 * 'reload' for anything else, including an old server that does not say
 * what changed.
 */
export function reloadPlan(changed) {
  if (!Array.isArray(changed) || changed.length === 0) return 'reload';
  return changed.every((name) => typeof name === 'string' && name.endsWith('.css')) ? 'css' : 'reload';
}

/** The stylesheet URL with a cache-busting `v` parameter for `version`. */
export function bustedHref(href, version, base) {
  const url = new URL(href, base);
  url.searchParams.set('v', version);
  return url.pathname + url.search + url.hash;
}
