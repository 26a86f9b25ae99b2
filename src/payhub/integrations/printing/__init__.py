"""Receipt printers: ESC/POS rendering, connections (USB, serial, network, file), HTML receipts, and a printer sandbox."""
