"""SQL storage of the kernel: tables, repositories, the unit of work, migrations runner."""
