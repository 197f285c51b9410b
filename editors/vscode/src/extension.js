// @ts-check
'use strict';

// The Wrennfile extension starts `wrenn lsp` and hands it the documents of
// language "wrennfile"; everything else (diagnostics, hover, completion,
// formatting, quick fixes, symbols, cache lenses) comes from the server.

const path = require('path');
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('wrenn.restartServer', async () => {
      await stop();
      await start(context);
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration('wrenn.path') || e.affectsConfiguration('wrenn.context') || e.affectsConfiguration('wrenn.cacheDir')) {
        await stop();
        await start(context);
      }
    }),
  );
  await start(context);
}

/** @param {vscode.ExtensionContext} context */
async function start(context) {
  const cfg = vscode.workspace.getConfiguration('wrenn');
  const command = cfg.get('path', 'wrenn') || 'wrenn';
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const resolve = (/** @type {string} */ p) => (p && folder && !path.isAbsolute(p) ? path.join(folder, p) : p);

  /** @type {import('vscode-languageclient/node').ServerOptions} */
  const serverOptions = {
    command,
    args: ['lsp'],
    transport: TransportKind.stdio,
    options: folder ? { cwd: folder } : undefined,
  };
  /** @type {import('vscode-languageclient/node').LanguageClientOptions} */
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'wrennfile' },
      { scheme: 'untitled', language: 'wrennfile' },
    ],
    initializationOptions: {
      context: resolve(cfg.get('context', '')),
      cacheDir: resolve(cfg.get('cacheDir', '')),
    },
  };
  client = new LanguageClient('wrenn', 'Wrennfile language server', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    vscode.window.showErrorMessage(
      `Could not start "${command} lsp": ${msg}. Install wrenn or set "wrenn.path" to the binary.`,
    );
  }
  context.subscriptions.push({ dispose: () => void stop() });
}

async function stop() {
  const c = client;
  client = undefined;
  if (c && c.isRunning()) {
    await c.stop();
  }
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
