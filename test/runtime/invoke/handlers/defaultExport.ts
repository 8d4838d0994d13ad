export default function defaultHandler(): string {
  return 'default';
}
