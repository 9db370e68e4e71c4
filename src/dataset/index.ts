/**
 * The dataset toolkit: bounded reading, validation, canonical rows, exact and near-duplicate
 * fingerprints, dataset identity, statistics, conversion, overlap/contamination and the
 * persistent fingerprint index. Everything here throws only `FlockError`.
 */
export { DEFAULT_LIMITS, resolveLimits, formatBytes, type DatasetLimits } from './limits.js';
export { readJsonlRows, nestingExceeds, type JsonlItem } from './reader.js';
export { checkRow, jsonType, type RowCheck } from './schema.js';
export { canonicalRow, canonicalJson, canonicalText, rowHash, rowHashBytes, type CanonicalRow, type Turn, type Role } from './canonical.js';
export { nearFingerprint, nearText, foldText, textFingerprint, NEAR_SCHEME, BAND_COUNT } from './fingerprint.js';
export { datasetIdentity, RowHashList } from './identity.js';
export { scanDataset, validateDataset, readDataset, formatErrors, MAX_ERRORS_KEPT, type DatasetScan, type ScanOptions, type ValidatedDataset } from './scan.js';
export { overlap, contamination, transferableFingerprints, Sketch, RowMatcher, CHANNELS, type DatasetFingerprints, type OverlapResult, type ContaminationResult } from './sketch.js';
export { fingerprintRows } from './fingerprint-rows.js';
export { twoWayOverlap, type TwoWayOverlap } from './containment.js';
export { nearDuplicatesOfEarlier, nearClusters } from './duplicates.js';
export { StatsCollector, estimateTokens, type DatasetStats, type Distribution } from './stats.js';
export { convertRow, CONVERT_FORMATS, type ConvertFormat } from './convert.js';
export { FingerprintIndex, type IndexMatch, type IndexedDataset, type QueryOptions } from './fingerprint-index.js';
export { writeJsonlAtomic } from './write.js';
