// The registry reachable here serves only Linux builds of platform-specific optional packages,
// so `npm install` leaves them out of package-lock.json and `npm ci` then calls the lock out of
// sync. This records each missing optional dependency with its os/cpu, which npm ci skips on
// other platforms. Run after regenerating the lock: node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const systems = ['android', 'darwin', 'freebsd', 'linux', 'openharmony', 'win32'];
const cpus = ['arm64', 'x64', 'ia32', 'loong64', 'ppc64', 'riscv64', 's390x', 'arm'];
let added = 0;
for (const meta of Object.values(lock.packages)) {
  for (const [dependency, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const key = `node_modules/${dependency}`;
    if (lock.packages[key]) continue;
    const parts = dependency.split('/').pop().split('-');
    const entry = { version, ...(meta.dev ? { dev: true } : {}), optional: true };
    const os = systems.find((s) => parts.includes(s));
    const cpu = cpus.find((c) => parts.includes(c));
    if (os) entry.os = [os];
    if (cpu) entry.cpu = [cpu];
    lock.packages[key] = entry;
    added++;
  }
}
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`recorded ${added} optional platform packages`);
