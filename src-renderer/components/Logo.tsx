// Logo: Warren's mark, drawn here (no image request): a burrow's arch over a mesh of three nodes.
export function Logo() {
  return (
    <svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <rect x="1" y="1" width="22" height="22" rx="6" fill="#2f7de1" />
      <path d="M5 17a7 7 0 0 1 14 0" fill="none" stroke="#fff" strokeWidth="2" strokeLinecap="round" />
      <circle cx="8" cy="17" r="1.8" fill="#fff" />
      <circle cx="16" cy="17" r="1.8" fill="#fff" />
      <circle cx="12" cy="10" r="1.8" fill="#fff" />
    </svg>
  );
}
