/**
 * What the renter calls load when they are first called, not when this domain
 * is imported: the `contract` commands import it for the Negotiator API alone,
 * and compiling the storage engine (LevelDB's binding, WebAssembly, the
 * store's modules) and the secp256k1 code would add ~0.15 s to each of their
 * start-ups for nothing.
 */
export const storeEngine = () => import('../store/index.js');

export const signingKeys = () =>
  Promise.all([import('../crypto/sig.js'), import('../negotiator/identity.js')]).then(([sig, identity]) => ({ ...sig, ...identity }));
