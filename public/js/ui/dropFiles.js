// What was dropped onto a device's entry, as files to send: plain files as
// they are, and a dropped folder walked for the files inside it (a folder
// in `dataTransfer.files` is an entry that cannot be read). The entries
// are taken while the drop event runs (the browser empties the
// DataTransfer after it), then walked. tests/js/dropFiles.test.mjs walks
// fake entries.

/** The dropped items, each {entry} (from webkitGetAsEntry) or {file}. */
export function droppedItems(dataTransfer) {
  const items = [...(dataTransfer.items || [])].filter((i) => i.kind === 'file');
  if (items.length === 0) return [...dataTransfer.files].map((file) => ({ file }));
  return items
    .map((item) => {
      const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
      if (entry) return { entry };
      const file = item.getAsFile();
      return file ? { file } : null;
    })
    .filter(Boolean);
}

/**
 * The files of `dropped` (droppedItems), folders walked depth first, at
 * most `limit` + 1 of them (one more than may be sent, so the sender says
 * there were too many instead of walking a whole disk).
 */
export async function collectFiles(dropped, limit) {
  const out = [];
  const walk = async (entry) => {
    if (out.length > limit) return;
    if (entry.isFile) {
      out.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      // readEntries gives a folder in batches, then an empty one.
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child);
        if (out.length > limit) return;
      }
    }
  };
  for (const d of dropped) {
    if (out.length > limit) break;
    if (d.file) out.push(d.file);
    else await walk(d.entry);
  }
  return out;
}
