"""`travelsync demo`: the whole journey in a throwaway sandbox (sandbox, journey, timeline)."""
