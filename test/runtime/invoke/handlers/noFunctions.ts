export const settings = { a: 1 };
