/**
 * SQLite value semantics for the executor: conversions, affinity, comparison, arithmetic,
 * LIKE/GLOB, scalar functions and aggregates. Pure functions over `Value` (base/values.ts).
 */
export * from './affinity.js';
export * from './aggregates.js';
export * from './arith.js';
export * from './compare.js';
export * from './convert.js';
export { DATETIME_FUNCTIONS } from './datetime.js';
export * from './functions.js';
export { JSON_AGGREGATES, JSON_DEPTH_MAX, JSON_FUNCTIONS, JSON_SUBTYPE_FUNCTIONS, jsonArrow, jsonArrow2, jsonQuoteText } from './json.js';
export type { JsonFunctionContext } from './json.js';
export * from './like.js';
export * from './printf.js';
export { atof, atoi64, fpDecode, formatFloat, realToText } from './fp.js';
export type { AtofResult, Atoi64Result, FloatSpec, FpDecoded } from './fp.js';
export { isInteger, isReal } from '../../base/values.js';
