/**
 * A cycle in a directed graph of small integers (`edges[i]` are the nodes i points at), as the list of
 * its members in order, or null. Iterative depth-first search: a long chain must not overflow the stack.
 */
export function findCycle(edges: number[][]): number[] | null {
  const state = edges.map(() => 0); // 0 unseen, 1 on the path, 2 done
  for (let root = 0; root < edges.length; root++) {
    if (state[root] !== 0) continue;
    const path: number[] = [];
    const stack: Array<[number, number]> = [[root, 0]];
    state[root] = 1;
    path.push(root);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [node, next] = top;
      if (next < edges[node].length) {
        top[1]++;
        const to = edges[node][next];
        if (state[to] === 1) return path.slice(path.indexOf(to));
        if (state[to] === 0) {
          state[to] = 1;
          path.push(to);
          stack.push([to, 0]);
        }
      } else {
        state[node] = 2;
        path.pop();
        stack.pop();
      }
    }
  }
  return null;
}
