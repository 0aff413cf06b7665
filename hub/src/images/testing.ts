/** Test support for image bundles, for other packages' tests (`@pifleet/hub/testing/images`). */
export * from './archive-fixture.js';
export * from './images-test-support.js';
