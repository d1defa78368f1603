// VERSION is Warren's version, shown by `warren version` and in status.
export const VERSION = '0.1.0';
