// Ids that become directory names and workflow ids (campaign ids, --id, run names): one rule, checked
// before anything starts, so an id can never climb out of runs/ ("../x") or carry spaces or slashes.
export const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const SAFE_ID_RULE = 'use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit';

/** The problem with an id, or undefined when it is safe. */
export function idProblem(id: string): string | undefined {
  if (SAFE_ID.test(id) && !id.includes('..')) return undefined;
  return `"${id}" is not a valid id: ${SAFE_ID_RULE} (no "..")`;
}
