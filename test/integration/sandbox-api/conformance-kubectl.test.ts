import { kubectlSuite } from '../../conformance/suites/kubectl.js';

kubectlSuite();
