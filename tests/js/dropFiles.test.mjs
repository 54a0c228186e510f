// What is dropped onto a device's entry (public/js/ui/dropFiles.js): plain
// files as they are, a folder walked for its files (its reader gives
// entries in batches, as browsers do), and a huge folder not walked past
// one more file than may be sent.
import test from 'node:test';
import assert from 'node:assert/strict';

import { collectFiles, droppedItems } from '../../public/js/ui/dropFiles.js';

const file = (name) => ({ isFile: true, isDirectory: false, name, file: (ok) => setImmediate(() => ok(new File([name], name))) });
function folder(name, children, batch = 2) {
  return {
    isFile: false,
    isDirectory: true,
    name,
    createReader() {
      let at = 0;
      return {
        readEntries(ok) {
          const part = children.slice(at, at + batch);
          at += part.length;
          setImmediate(() => ok(part));
        },
      };
    },
  };
}

test('a dropped folder is walked for every file inside it, beside files dropped with it', async () => {
  const dropped = [
    { file: new File(['x'], 'loose.txt') },
    { entry: folder('trip', [file('a.jpg'), folder('day 2', [file('b.jpg'), file('c.jpg'), file('d.jpg')]), file('e.mov')]) },
  ];
  const files = await collectFiles(dropped, 100);
  assert.deepEqual(files.map((f) => f.name), ['loose.txt', 'a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.mov']);
});

test('a folder with more files than may be sent stops being walked one past the limit', async () => {
  let read = 0;
  const many = Array.from({ length: 50 }, (_, i) => {
    const f = file(`${i}.txt`);
    const inner = f.file;
    f.file = (ok, fail) => {
      read++;
      inner(ok, fail);
    };
    return f;
  });
  const files = await collectFiles([{ entry: folder('big', many, 7) }], 10);
  assert.equal(files.length, 11);
  assert.equal(read, 11);
});

test('items without entries fall back to their files, and non-file items are ignored', () => {
  const plain = new File(['p'], 'p.txt');
  const transfer = {
    items: [
      { kind: 'string', getAsFile: () => null },
      { kind: 'file', webkitGetAsEntry: () => null, getAsFile: () => plain },
      { kind: 'file', webkitGetAsEntry: () => file('e.txt'), getAsFile: () => null },
    ],
    files: [],
  };
  const items = droppedItems(transfer);
  assert.equal(items.length, 2);
  assert.equal(items[0].file, plain);
  assert.equal(items[1].entry.name, 'e.txt');
  // A browser that gives no items: its files.
  assert.deepEqual(droppedItems({ files: [plain] }), [{ file: plain }]);
});
