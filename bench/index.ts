/**
 * `npm run bench`: every suite registered here, one after another, each
 * printing its figures beside a reference measured in the same run.
 * `npm run bench -- <name>` runs only the suites whose name contains <name>.
 */
import { printFigures, type BenchSuite } from './harness.js';
import { chainBench } from './chain.js';
import { contractsBench } from './contracts.js';
import { fulfilmentBench } from './fulfilment.js';
import { mallocBench } from './malloc.js';
import { negotiatorBench } from './negotiator.js';
import { nodeBench } from './node.js';
import { offerPoolBench } from './offerpool.js';
import { repairBench } from './repair.js';
import { serverBench } from './server.js';
import { storeBench } from './store.js';

const suites: BenchSuite[] = [nodeBench, chainBench, serverBench, storeBench, mallocBench, repairBench, negotiatorBench, offerPoolBench, contractsBench, fulfilmentBench];

const filter = process.argv[2];
for (const suite of suites) {
  if (filter && !suite.name.includes(filter)) continue;
  // A suite that cannot run says why in one line; the others still run, and the exit code tells.
  try {
    printFigures(suite.name, await suite.run());
  } catch (err) {
    process.stderr.write(`## ${suite.name}: not run: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
