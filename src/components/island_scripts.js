((js, wasm) => {
  const childrenCallbacks = [];

  async function hydrateIsland(el, id, mod) {
    const island = mod[id];
    if (!island) {
      console.warn(`No wasm function for the island ${id}.`);
      return;
    }
    const children = childrenCallbacks[childrenCallbacks.length - 1];
    if (children) children();
    const hydrated = island(el);
    if (hydrated && hydrated.then) await hydrated;
  }

  async function hydrateWithin(node, mod) {
    for (const child of node.children) {
      const tag = child.localName;
      if (tag === 'leptos-island') {
        await hydrateIsland(child, child.dataset.component || null, mod);
        await hydrateWithin(child, mod);
      } else if (tag === 'leptos-children') {
        childrenCallbacks.push(child.$$on_hydrate);
        await hydrateWithin(child, mod);
        childrenCallbacks.pop();
      } else {
        await hydrateWithin(child, mod);
      }
    }
  }

  import(js).then(async (mod) => {
    await mod.default({ module_or_path: await (window.__keyportWasm ?? wasm) });
    window.__hydrateIsland = (el, id) => hydrateIsland(el, id, mod);
    mod.hydrate();
    await hydrateWithin(document.body, mod);
  });
})
