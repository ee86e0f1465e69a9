/** Entry point of the `citytrust` command. */
import { buildProgram } from './program.ts';

await buildProgram().parseAsync(process.argv);
