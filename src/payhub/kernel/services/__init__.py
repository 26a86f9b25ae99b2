"""The kernel's use cases: placing, paying, fulfilling and refunding orders; jobs; auth."""
