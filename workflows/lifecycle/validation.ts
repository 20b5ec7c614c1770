import type { Keyring, KeyRecord } from '../../src/auth/keyring';
import type { CarriedState } from '../../src/lifecycle/carriedState';

/*
 * What the lifecycle validates with — request schemas, signature checks, the carried state's
 * reader, the keyring — loaded when it is first needed. Every workflow evaluates its imports
 * anew (each lifecycle and each training pipeline its own copy of every module it imports),
 * and building these zod schemas was most of what creating one cost, though most runs never
 * check a request.
 */

type ActionRules = typeof import('../../src/lifecycle/actionRules');
type Contract = typeof import('../../src/lifecycle/contract');
type Carried = typeof import('../../src/lifecycle/carriedState');
type Keys = typeof import('../../src/auth/keyring');

let loaded: { rules: ActionRules; contract: Contract; carried: Carried; keys: Keys } | undefined;
const load = () =>
  (loaded ??= {
    rules: require('../../src/lifecycle/actionRules') as ActionRules,
    contract: require('../../src/lifecycle/contract') as Contract,
    carried: require('../../src/lifecycle/carriedState') as Carried,
    keys: require('../../src/auth/keyring') as Keys,
  });

export const checkDecision: ActionRules['checkDecision'] = (...a) => load().rules.checkDecision(...a);
export const checkRollback: ActionRules['checkRollback'] = (...a) => load().rules.checkRollback(...a);
export const checkRetire: ActionRules['checkRetire'] = (...a) => load().rules.checkRetire(...a);
export const checkRetrain: ActionRules['checkRetrain'] = (...a) => load().rules.checkRetrain(...a);
export const checkPause: ActionRules['checkPause'] = (...a) => load().rules.checkPause(...a);
export const checkResume: ActionRules['checkResume'] = (...a) => load().rules.checkResume(...a);
export const authorize: ActionRules['authorize'] = (...a) => load().rules.authorize(...a);

export const refusedBy: Contract['refusedBy'] = (by) => load().contract.refusedBy(by);
export const actorRequestSchema = () => load().contract.ActorRequest;
export const updateSpecRequestSchema = () => load().contract.UpdateSpecRequest;
export const keyRecordSchema = () => load().keys.KeyRecord;

/** The spec's schema, the largest of all, on its own: only a spec update needs it. */
let spec: (typeof import('../../src/spec/modelSpec'))['ModelSpec'] | undefined;
export const specSchema = () => (spec ??= (require('../../src/spec/modelSpec') as typeof import('../../src/spec/modelSpec')).ModelSpec);

export const readCarriedState: Carried['readCarriedState'] = (raw) => load().carried.readCarriedState(raw);
export const carriedFormat = (): CarriedState['format'] => load().carried.CARRIED_FORMAT;

/** The keyring of these records; none (a lifecycle no approver has a key for) needs no schema to say so. */
export function buildKeyring(records: readonly KeyRecord[]): Keyring {
  return records.length ? load().keys.buildKeyring(records) : { current: new Map(), known: new Map(), ignored: [] };
}
