// The demo data set lives below both the testing kit and the CLI (`src/demo/`), so that
// `tenantry seed --demo` does not depend on the testing kit.
export { demoDataSet, type DemoRole, type DemoTenant, type DemoUser } from '../demo/demo-data-set.js'
export { seedDemoData, type SeedDemoDataOptions, type SeedDemoDataResult } from '../demo/seed-demo-data.js'
