/**
 * A lying host for fulfilment tests: an HTTP front that passes the renter's
 * signed requests to the host's real file server, except what a test tells it
 * to lie about. A host controls its own machine, so this is what a hostile
 * host can do: answer a storage proof of other bytes than those challenged
 * (built from its own sector files), or serve a sector other than the bytes
 * its reported roots are of.
 */
import type { ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { merkleProof } from '../../src/lib/crypto/merkle.js';

/** What the front answers a PROOF of (sector, segment) with instead. */
export type ProofSwap = (sectorId: string, segment: number) => { sectorId: string; segment: number };

const PROOF_PATH = /^\/v1\/contracts\/([0-9a-f]{64})\/sectors\/([0-9a-f]{64})\/proof$/;
const SECTOR_PATH = /^\/v1\/contracts\/[0-9a-f]{64}\/sectors\/[0-9a-f]{64}$/;

export class HostileFront {
  url = '';
  /** The file server's storage directory, where the front reads sectors to build its proofs. */
  storageDir = '';
  proofSwap: ProofSwap | null = null;
  /** What a whole-sector GET answers instead of the bytes the server sent. */
  servedBytes: ((bytes: Buffer) => Buffer) | null = null;
  private target = '';

  /** Starts the front before `target`'s URL is needed by anyone; closed at the test's end. */
  async open(t: ExecutionContext, target: string): Promise<string> {
    this.target = target;
    const server = createServer((req, res) => {
      this._answer(req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(err.message);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  private async _answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const proof = PROOF_PATH.exec(url.pathname);
    if (proof && this.proofSwap) {
      const [, contractId, sectorId] = proof;
      const lie = this.proofSwap(sectorId, Number(url.searchParams.get('segment')));
      const bytes = readFileSync(join(this.storageDir, 'sectors', contractId, lie.sectorId.slice(0, 2), lie.sectorId));
      const p = merkleProof(bytes, lie.segment).proof;
      const body = JSON.stringify({
        sectorId,
        sectorSize: p.sectorSize,
        segmentIndex: lie.segment,
        segment: Buffer.from(p.segment).toString('hex'),
        proof: p.proof.map((h) => Buffer.from(h).toString('hex')),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const upstream = await this._forward(req, url);
    let body = upstream.body;
    if (req.method === 'GET' && SECTOR_PATH.test(url.pathname) && upstream.status === 200 && this.servedBytes) body = this.servedBytes(body);
    // The body goes back whole, with its own length, whatever framing the server chose.
    const headers = { ...upstream.headers, 'content-length': String(body.length) };
    delete headers['transfer-encoding'];
    delete headers.connection;
    res.writeHead(upstream.status, headers);
    res.end(body);
  }

  private _forward(req: IncomingMessage, url: URL): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    const to = new URL(url.pathname + url.search, this.target);
    return new Promise((resolve, reject) => {
      const out = request(to, { method: req.method, headers: { ...req.headers, host: to.host } }, (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => resolve({ status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(chunks) }));
        up.on('error', reject);
      });
      out.on('error', reject);
      req.pipe(out);
    });
  }
}
