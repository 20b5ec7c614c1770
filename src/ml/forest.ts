/**
 * The trees of a GBDT laid out for scoring one row at a time.
 *
 * On the model server the HTTP stack evicts much of the forest from the CPU caches between
 * two requests, so a row's score costs more in cache misses than in comparisons. The
 * layout is built for that:
 *
 * - A row's values are first turned into ranks, once per feature: a numeric value's rank
 *   is the number of that feature's distinct split thresholds below it, so `v <= t` at a
 *   node is `rank <= index of t` — an integer compare that needs no threshold in the node.
 * - A node is then one 32-bit word, and a tree is cut into blocks of three levels: seven
 *   nodes and the eight places the block exits to (a leaf, or the next block), 64 bytes —
 *   one cache line. A path through a depth-6 tree touches two lines instead of six.
 *
 * Scores are exactly those of walking the trees node by node (the test walks the model's
 * JSON to prove it): ranks only re-express the same comparisons.
 */

/** One tree as the trainer builds it: parallel arrays by node id, the root at 0. */
export interface TreeArrays {
  /** Split feature, or -1 for a leaf. */
  feature: Int32Array;
  /** Numeric splits: a value goes left iff `value <= threshold`. */
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** Missing values (and unseen categories) go left when 1. */
  defaultLeft: Uint8Array;
  /** A leaf's value. */
  value: Float64Array;
  /** Categorical splits: per value bin 0 = unseen (default direction), 1 = left, 2 = right. */
  catDir: (Uint8Array | null)[];
}

/** Slots per block: seven nodes, one unused, eight exits. */
const BLOCK = 16;
const EXITS = 8;
/** Largest rank field in a node word; also the "always left" threshold of pass-through slots. */
const MAX_INDEX = 0xffff;
/** The rank of a missing value (or of a category code a split cannot place): the node's default direction. */
const NO_RANK = 0x7fffffff;
const MAX_FEATURES = 1 << 14;

/*
 * Node word: bits 18–31 feature, bits 2–17 the threshold's index among the feature's sorted
 * thresholds (a categorical split: its index in `catDirs`), bit 1 categorical, bit 0
 * default-left. A leaf above a block's last level is a pass-through slot (index MAX_INDEX
 * with default-left: every row goes left) and every exit under it holds that leaf.
 */
const PASS_THROUGH = (MAX_INDEX << 2) | 1;

export class ScoringForest {
  private readonly roots: Int32Array;
  /** BLOCK words per block: node words in heap order (slots 0–6), exits in slots 8–15. */
  private readonly blocks: Int32Array;
  private readonly leaves: Float64Array;
  /** Per numeric feature, its distinct split thresholds ascending (empty for categorical features). */
  private readonly thresholds: Float64Array[];
  private readonly categorical: Uint8Array;
  private readonly catDirs: Uint8Array[];
  /** The rank of each of the current row's values: scoring is synchronous, one row at a time. */
  private readonly ranks: Int32Array;
  /** The row's running margin (see margin). */
  private readonly sum = new Float64Array(1);

  /**
   * @param kinds per feature
   * @param categoryCap category codes at or above it share its bin (the trainer's maxBins − 1)
   */
  constructor(
    trees: readonly TreeArrays[],
    kinds: readonly ('numeric' | 'categorical')[],
    private readonly categoryCap: number,
  ) {
    if (kinds.length > MAX_FEATURES) throw new Error(`GbdtModel: ${kinds.length} features; scoring supports at most ${MAX_FEATURES}`);
    this.categorical = Uint8Array.from(kinds, (k) => (k === 'categorical' ? 1 : 0));
    this.thresholds = sortedThresholds(trees, kinds.length);
    this.ranks = new Int32Array(kinds.length);
    const built = layOut(trees, this.thresholds);
    this.roots = built.roots;
    this.blocks = built.blocks;
    this.leaves = built.leaves;
    this.catDirs = built.catDirs;
  }

  /**
   * `base` plus each tree's leaf value, added in tree order (the order of training, so a
   * resumed training's scores are exact).
   */
  margin(base: number, values: ArrayLike<number>): number {
    this.rank(values);
    const { roots, blocks, leaves, ranks, catDirs, sum } = this;
    // The running sum lives in a typed array: as a local, V8 (Node 20) kept it boxed inside
    // the server's larger compiled code — a heap number per tree per row.
    sum[0] = base;
    for (let t = 0; t < roots.length; t++) {
      let b = roots[t] * BLOCK;
      for (;;) {
        // Three levels, unrolled: slot i's children are 2i + 1 and 2i + 2.
        let i = goesRight(blocks[b], ranks, catDirs) + 1;
        i = 2 * i + 1 + goesRight(blocks[b + i], ranks, catDirs);
        i = 2 * i + 1 + goesRight(blocks[b + i], ranks, catDirs);
        // i is 7..14: exit i − 7, stored at slot i + 1.
        const exit = blocks[b + i + 1];
        if (exit < 0) {
          sum[0] += leaves[~exit];
          break;
        }
        b = exit * BLOCK;
      }
    }
    return sum[0];
  }

  private rank(values: ArrayLike<number>): void {
    const { thresholds, categorical, ranks, categoryCap } = this;
    for (let f = 0; f < ranks.length; f++) {
      const v = values[f];
      if (categorical[f] === 1) {
        // Negative, fractional and missing codes follow the default direction.
        ranks[f] = v >= 0 && Number.isInteger(v) ? (v >= categoryCap ? categoryCap : v) : NO_RANK;
        continue;
      }
      if (v !== v) {
        ranks[f] = NO_RANK;
        continue;
      }
      const t = thresholds[f];
      let lo = 0;
      let hi = t.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (v <= t[mid]) hi = mid;
        else lo = mid + 1;
      }
      ranks[f] = lo;
    }
  }
}

/** 1 when the row goes right at the node `word`, else 0. */
function goesRight(word: number, ranks: Int32Array, catDirs: Uint8Array[]): number {
  const r = ranks[word >>> 18];
  const index = (word >>> 2) & MAX_INDEX;
  if (r === NO_RANK) return 1 - (word & 1);
  // r > index as the sign bit of index − r (both below 2^16): no branch to mispredict.
  if ((word & 2) === 0) return (index - r) >>> 31;
  const dirs = catDirs[index];
  const dir = r < dirs.length ? dirs[r] : 0;
  return dir === 0 ? 1 - (word & 1) : dir - 1;
}

function sortedThresholds(trees: readonly TreeArrays[], nFeatures: number): Float64Array[] {
  const sets = Array.from({ length: nFeatures }, () => new Set<number>());
  for (const t of trees) {
    for (let i = 0; i < t.feature.length; i++) {
      const f = t.feature[i];
      if (f >= 0 && t.catDir[i] === null) sets[f].add(t.threshold[i]);
    }
  }
  return sets.map((s, f) => {
    if (s.size > MAX_INDEX) throw new Error(`GbdtModel: feature ${f} has ${s.size} distinct thresholds; scoring supports at most ${MAX_INDEX}`);
    return Float64Array.from(s).sort();
  });
}

function layOut(trees: readonly TreeArrays[], thresholds: Float64Array[]) {
  const blocks: number[] = [];
  const leaves: number[] = [];
  const catDirs: Uint8Array[] = [];
  const indexOf = thresholds.map((t) => new Map(Array.from(t, (v, i) => [v, i])));
  const roots = trees.map((t) => {
    const block = (top: number): number => {
      const b = blocks.length / BLOCK;
      for (let k = 0; k < BLOCK; k++) blocks.push(0);
      // The old node id at each slot, heap order; slots 7–14 are the exits.
      const at = new Array<number>(2 * EXITS - 1);
      at[0] = top;
      for (let i = 0; i < EXITS - 1; i++) {
        const n = at[i];
        const f = t.feature[n];
        if (f < 0) {
          blocks[b * BLOCK + i] = PASS_THROUGH;
          at[2 * i + 1] = n;
          at[2 * i + 2] = n;
          continue;
        }
        const dirs = t.catDir[n];
        let index: number;
        if (dirs === null) {
          index = indexOf[f].get(t.threshold[n])!;
        } else {
          index = catDirs.length;
          if (index > MAX_INDEX) throw new Error(`GbdtModel: more than ${MAX_INDEX} categorical splits; scoring supports at most that many`);
          catDirs.push(dirs);
        }
        blocks[b * BLOCK + i] = ((f << 18) | (index << 2) | (dirs === null ? 0 : 2) | (t.defaultLeft[n] ? 1 : 0)) | 0;
        at[2 * i + 1] = t.left[n];
        at[2 * i + 2] = t.right[n];
      }
      // A leaf met above the last level fills every exit under it.
      const leafAt = new Map<number, number>();
      for (let e = 0; e < EXITS; e++) {
        const n = at[EXITS - 1 + e];
        if (t.feature[n] < 0) {
          let leaf = leafAt.get(n);
          if (leaf === undefined) {
            leaf = leaves.push(t.value[n]) - 1;
            leafAt.set(n, leaf);
          }
          blocks[b * BLOCK + EXITS + e] = ~leaf;
        } else {
          blocks[b * BLOCK + EXITS + e] = block(n);
        }
      }
      return b;
    };
    return block(0);
  });
  return { roots: Int32Array.from(roots), blocks: Int32Array.from(blocks), leaves: Float64Array.from(leaves), catDirs };
}
