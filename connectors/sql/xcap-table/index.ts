/** The legacy `xcap` table (xcap-table mode): dialects, table access, dialect detection. */
export * from './dialects.ts';
export * from './table.ts';
export * from './detect.ts';
export * from './connector.ts';
