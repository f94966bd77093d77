// The dashboard's entry point (see web/README in the dashboard issue).
export {};
