// The Micro Ledger web page: reads a ledger over the HTTP read API of a host
// or mirror (checkpoint, then block bundles; see docs/HTTP.md), or a bundle
// file dropped on the page, verifies it with verifier.js and shows the
// verdict and the document's history. Everything shown is text taken from
// what was verified; nothing is inserted as HTML.
(function () {
  'use strict';

  const Verifier = globalThis.MicroLedgerVerifier;
  const BUNDLE_WIDTH = 256;
  const PARALLEL_FETCHES = 6;
  const $ = (id) => document.getElementById(id);

  // C2SP tlog-tiles index path: "x001/x234/067" for 1234067.
  function encodeTileIndex(index) {
    const groups = [];
    do {
      groups.push(index % 1000);
      index = Math.floor(index / 1000);
    } while (index > 0);
    groups.reverse();
    return groups
      .map((group, i) => (i < groups.length - 1 ? 'x' : '') + String(group).padStart(3, '0'))
      .join('/');
  }

  // The block bundle paths of a tree of `size` blocks, in order.
  function bundlePaths(size) {
    const paths = [];
    for (let index = 0; index * BUNDLE_WIDTH < size; index++) {
      const width = Math.min(BUNDLE_WIDTH, size - index * BUNDLE_WIDTH);
      paths.push('blocks/' + encodeTileIndex(index) + (width < BUNDLE_WIDTH ? '.p/' + width : ''));
    }
    return paths;
  }

  function ledgerUrl(base, ledger, path) {
    return base.replace(/\/+$/, '') + '/' + ledger + '/' + path;
  }

  async function fetchText(url) {
    let response;
    try {
      response = await fetch(url);
    } catch (error) {
      throw new Error(`cannot reach ${url}: ${error.message}`);
    }
    const body = await response.text();
    if (!response.ok) {
      throw new Error(`${url}: HTTP ${response.status} ${body.trim().slice(0, 200)}`);
    }
    return body;
  }

  // Fetches every URL, at most `limit` at a time; the answers in URL order.
  async function fetchAll(urls, limit, onFetched) {
    const answers = new Array(urls.length);
    let next = 0;
    let done = 0;
    async function worker() {
      while (next < urls.length) {
        const i = next++;
        answers[i] = await fetchText(urls[i]);
        onFetched(++done, urls.length);
      }
    }
    const workers = [];
    for (let i = 0; i < Math.min(limit, urls.length); i++) workers.push(worker());
    await Promise.all(workers);
    return answers;
  }

  // The tree size line of a checkpoint note (checked again, with the
  // signature, by the verifier).
  function treeSizeOf(note) {
    const line = note.split('\n')[1] || '';
    if (!/^[1-9][0-9]*$/.test(line) || Number(line) > Number.MAX_SAFE_INTEGER) {
      throw new Error(`the checkpoint's tree size ${JSON.stringify(line.slice(0, 40))} cannot be read`);
    }
    return Number(line);
  }

  // Signature lines of keys other than the ledger's: witness cosignatures.
  function cosignerNames(note, ledger) {
    const blank = note.indexOf('\n\n');
    if (blank < 0) return [];
    return note
      .slice(blank + 2)
      .split('\n')
      .filter((line) => line.startsWith('\u2014 '))
      .map((line) => line.slice(2).split(' ')[0])
      .filter((name) => name !== ledger);
  }

  function setStatus(text) {
    $('status').textContent = text;
  }

  function showError(text) {
    const error = $('error');
    error.textContent = text;
    error.hidden = !text;
  }

  function clearResult() {
    showError('');
    setStatus('');
    const verdict = $('verdict');
    verdict.textContent = '';
    verdict.className = '';
    $('summary').hidden = true;
    $('summary').replaceChildren();
    $('timeline').replaceChildren();
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function shortKey(key) {
    return key.length > 14 ? key.slice(0, 10) + '…' + key.slice(-4) : key;
  }

  function describeValue(value) {
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  function addSummary(term, description) {
    const summary = $('summary');
    summary.append(element('dt', '', term), element('dd', '', description));
    summary.hidden = false;
  }

  // One timeline entry per block; `attachmentLink(seal)` gives a link for a
  // seal's attachment or null.
  function renderBlocks(report, attachmentLink) {
    const timeline = $('timeline');
    for (const block of report.blocks) {
      const item = element('li', 'block' + (block.verified ? '' : ' unverified'));
      item.id = 'block-' + block.position;
      item.dataset.position = String(block.position);
      const event = block.event && typeof block.event === 'object' ? block.event : {};
      const head = element('div', 'block-head');
      head.append(
        element('span', 'number', '#' + block.number),
        element('span', 'event', describeValue(event.event)),
        element('time', 'time', block.time));
      head.lastChild.dateTime = block.time;
      item.append(head);

      const details = element('dl', 'members');
      for (const [name, value] of Object.entries(event)) {
        if (name === 'event') continue;
        details.append(element('dt', '', name), element('dd', '', describeValue(value)));
      }
      if (block.controllers) {
        details.append(element('dt', '', 'custodians'),
          element('dd', '', `${block.controllers.threshold} of ` +
            block.controllers.keys.map(shortKey).join(', ')));
      }
      if (details.childElementCount > 0) item.append(details);

      const signers = element('p', 'signers');
      signers.append(element('span', 'label', 'signed by '),
        element('span', 'owners', block.owners.map(shortKey).join(', ') || 'no owner'),
        element('span', 'label', ' · host '),
        element('span', 'host', shortKey(block.host || '')));
      item.append(signers);

      if (block.seals.length > 0) {
        const seals = element('ul', 'seals');
        for (const seal of block.seals) {
          const entry = element('li', 'seal');
          const link = attachmentLink(seal);
          if (link) {
            entry.append(link);
          } else {
            entry.append(element('span', '', 'seal ' + shortKey(seal) + ' (no attachment here)'));
          }
          seals.append(entry);
        }
        item.append(seals);
      }
      timeline.append(item);
    }
  }

  function showVerdict(report) {
    const verdict = $('verdict');
    verdict.textContent = report.verdict;
    verdict.className = report.ok ? 'ok' : 'fail';
    if (report.ok || !report.failure) return;
    const position = report.failure.block;
    if (position === 0) return;
    let failed = document.getElementById('block-' + position);
    if (!failed) {
      failed = element('li', 'block');
      failed.id = 'block-' + position;
      failed.dataset.position = String(position);
      failed.append(element('div', 'block-head', `block ${position} could not be read`));
      $('timeline').append(failed);
    }
    failed.classList.add('failed');
    failed.append(element('p', 'rule', report.failure.rule));
    failed.scrollIntoView({block: 'center'});
  }

  async function verifyFromServer(ledger, base) {
    clearResult();
    const started = performance.now();
    setStatus('Fetching the checkpoint…');
    const note = await fetchText(ledgerUrl(base, ledger, 'checkpoint'));
    const size = treeSizeOf(note);
    const paths = bundlePaths(size);
    const bundles = await fetchAll(paths.map((path) => ledgerUrl(base, ledger, path)),
      PARALLEL_FETCHES, (done, total) => setStatus(`Fetching blocks: ${done} of ${total} bundles…`));
    setStatus(`Verifying ${size} blocks…`);
    const text = '{"bundle":{"format":"microledger-bundle-v1","ledger":' + JSON.stringify(ledger) +
      '}}\n' + bundles.join('') + '{"checkpoint":' + JSON.stringify(note) + '}\n';
    const report = await Verifier.verifyBundle(text, {
      onProgress: (lines) => setStatus(`Verifying: ${Math.min(lines, size)} of ${size} blocks…`),
    });
    setStatus('');
    addSummary('Ledger', ledger);
    addSummary('Read from', base);
    addSummary('Checkpoint', `${size} blocks`);
    const cosigners = cosignerNames(note, ledger);
    if (cosigners.length > 0) {
      addSummary('Cosigned by', cosigners.join(', ') + ' (witness keys not given here: not checked)');
    }
    addSummary('Verified in', `${Math.round(performance.now() - started)} ms`);
    renderBlocks(report, (seal) => {
      const link = element('a', 'attachment', 'attachment ' + shortKey(seal));
      link.href = ledgerUrl(base, ledger, 'attachment/' + seal);
      link.download = '';
      return link;
    });
    showVerdict(report);
    return report;
  }

  async function verifyFile(file) {
    clearResult();
    const started = performance.now();
    setStatus(`Verifying ${file.name}…`);
    const report = await Verifier.verifyBundle(new Uint8Array(await file.arrayBuffer()), {
      onProgress: (lines) => setStatus(`Verifying ${file.name}: ${lines} lines…`),
    });
    setStatus('');
    if (report.ledger) addSummary('Ledger', report.ledger);
    addSummary('File', `${file.name} (${file.size} bytes)`);
    addSummary('Verified in', `${Math.round(performance.now() - started)} ms`);
    renderBlocks(report, (seal) => {
      const attachment = report.attachments.find((a) => a.seal === seal && a.verified);
      if (!attachment) return null;
      const link = element('a', 'attachment', 'attachment ' + (attachment.name || shortKey(seal)));
      link.href = URL.createObjectURL(new Blob([attachment.bytes]));
      link.download = attachment.name || seal;
      return link;
    });
    showVerdict(report);
    return report;
  }

  async function run(task) {
    const button = $('verify-button');
    button.disabled = true;
    document.body.dataset.state = 'busy';
    try {
      await task();
    } catch (error) {
      setStatus('');
      showError(error.message);
    } finally {
      button.disabled = false;
      document.body.dataset.state = 'done';
    }
  }

  function start() {
    if (!Verifier) {
      showError('verifier.js did not load');
      return;
    }
    if (!globalThis.crypto || !crypto.subtle) {
      showError('This page needs a secure context for WebCrypto: open it over https://, ' +
        'from localhost or 127.0.0.1, or as a local file (file://).');
      return;
    }
    const params = new URLSearchParams(location.search);
    const served = location.protocol === 'http:' || location.protocol === 'https:';
    $('from').value = params.get('from') || (served ? location.origin : '');
    $('ledger').value = params.get('ledger') || '';

    $('ledger-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const ledger = $('ledger').value.trim();
      const base = $('from').value.trim();
      if (!base) {
        showError('Say where to read from: the address of a host or mirror HTTP read API.');
        return;
      }
      const query = new URLSearchParams({ledger});
      if (!served || base !== location.origin) query.set('from', base);
      history.replaceState(null, '', '?' + query.toString());
      run(() => verifyFromServer(ledger, base));
    });

    const zone = $('drop-zone');
    zone.addEventListener('dragover', (event) => {
      event.preventDefault();
      zone.classList.add('dragging');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
    zone.addEventListener('drop', (event) => {
      event.preventDefault();
      zone.classList.remove('dragging');
      const file = event.dataTransfer.files[0];
      if (file) run(() => verifyFile(file));
    });
    $('bundle-file').addEventListener('change', (event) => {
      const file = event.target.files[0];
      if (file) run(() => verifyFile(file));
    });

    if (params.get('ledger') && $('from').value) {
      run(() => verifyFromServer($('ledger').value.trim(), $('from').value.trim()));
    } else {
      document.body.dataset.state = 'idle';
    }
  }

  start();
})();
