/** Exit codes shared by all commands (kept apart so the top-level help loads nothing else). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** Bad usage or bad configuration. */
export const EXIT_USAGE = 2;
