export { INPUT_SCREENING_MODES, screenInput, type InputScreeningMode } from './screenInput';
